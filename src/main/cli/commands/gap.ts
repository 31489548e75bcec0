// CLI (plain Node). `gap <refs.json> [--images DIR] [--pack DIR] [--fractions 0,0.5,1] [--all-captions]`:
// modality-gap analysis of (image, caption) pairs, one JSON object on stdout.
import { StudioError } from '@shared/errors'
import { cliEngine, packDirFrom, readCaptionFile } from '../cli-support'
import { emit, log, parse, type CliCommand } from '../command'

export const gapCommand: CliCommand = {
  name: 'gap',
  summary: 'Modality-gap analysis of (image, caption) pairs (JSON on stdout)',
  usage: `usage: caption-studio gap <refs.json|captions.jsonl> [--images DIR] [--pack DIR] [--fractions 0,0.25,0.5,0.75,1] [--all-captions] [--no-pca]

  refs.json is {file_name: [captions]} or COCO captions; by default the first caption of each image is used.`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      images: { type: 'string' },
      pack: { type: 'string' },
      fractions: { type: 'string' },
      'all-captions': { type: 'boolean' },
      'no-pca': { type: 'boolean' }
    })
    const input = positionals[0]
    if (!input) throw new StudioError('invalid_input', 'no refs file given')
    const packDir = packDirFrom(values.pack)
    const all = (await readCaptionFile(input, values.images)).flatMap((p) => (p.file ? [{ file: p.file, caption: p.caption }] : []))
    const seen = new Set<string>()
    const pairs = values['all-captions'] ? all : all.filter((p) => !seen.has(p.file) && seen.add(p.file))
    const fractions = values.fractions?.split(',').map(Number)
    if (fractions?.some((f) => !Number.isFinite(f))) throw new StudioError('invalid_input', '--fractions must be numbers separated by commas')
    const client = cliEngine()
    try {
      log(`${pairs.length} pairs`)
      const r = await client.call('gap', { packDir, pairs, fractions })
      for (const s of r.skipped) log(`skipped ${s.file}: ${s.error.message}`)
      emit(values['no-pca'] ? { ...r, pca: undefined } : r)
    } finally {
      await client.dispose()
    }
    return 0
  }
}
