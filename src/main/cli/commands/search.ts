// CLI (plain Node). `search <text> [--limit N] [--like IMAGE_ID]`: rank the library by similarity to a text
// query (the active pack's text encoder and prompt, in the engine worker) or to one image's stored embedding,
// one JSON line per image: {imageId, path, similarity}, best first.
import type { OpOutput } from '@shared/contract'
import { StudioError } from '@shared/errors'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { emit, log, parse, type CliCommand } from '../command'
import { imagePaths, positiveInt } from './search-support'

export const searchCommand: CliCommand = {
  name: 'search',
  summary: 'Semantic search: images ranked by similarity to a text query or to an image (--like), as JSON lines',
  usage: `usage: caption-studio search <text…> [--limit N] [--data-dir DIR]
       caption-studio search --like IMAGE_ID [--limit N] [--data-dir DIR]

  Ranks images by cosine similarity of their stored embeddings (active pack; run \`library index\` first
  for images never captioned) to the text's CLIP embedding, or to image IMAGE_ID's ("more like this").
  Prints {"imageId", "path", "similarity"} per line, best first (default limit 20).`,
  async run(argv) {
    const { values, positionals } = parse(argv, { limit: { type: 'string' }, like: { type: 'string' }, 'data-dir': { type: 'string' } })
    const text = positionals.join(' ').trim()
    const limit = positiveInt(values.limit, '--limit', 20)
    const like = values.like === undefined ? undefined : positiveInt(values.like, '--like', 0)
    if ((text === '') === (like === undefined)) {
      log(this.usage)
      return 2
    }
    const services = createServices(values['data-dir'] ?? defaultDataDir(), 'cli', { resumeJobs: false })
    try {
      const r = (await services.call('search.query', like === undefined ? { text, limit } : { likeImageId: like, limit })) as OpOutput<'search.query'>
      if (r.indexed === 0) throw new StudioError('not_found', `no image has an embedding for pack ${r.packId} ${r.version} yet: run caption-studio library index`)
      log(`${r.ids.length} of ${r.indexed} indexed images (pack ${r.packId} ${r.version}, ${r.exact ? 'exact' : 'HNSW candidates re-scored'})`)
      const paths = imagePaths(services, r.ids)
      r.ids.forEach((imageId, i) => emit({ imageId, path: paths[i], similarity: Number(r.similarities[i]!.toFixed(6)) }))
      return 0
    } finally {
      await services.close()
    }
  }
}
