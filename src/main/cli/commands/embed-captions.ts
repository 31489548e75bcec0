// CLI (plain Node). `embed-captions <captions file> [--pack DIR] [--out FILE]`: text embeddings of captions as
// JSON lines {caption, embedding} (L2-normalised, the pack's text encoder) — the input format of
// tools/modelkit/train_decoder.py. Duplicate captions are embedded once and written once.
import { createWriteStream } from 'node:fs'
import { StudioError } from '@shared/errors'
import { cliEngine, packDirFrom, readCaptionFile } from '../cli-support'
import { log, parse, type CliCommand } from '../command'

const CHUNK = 2048

export const embedCaptionsCommand: CliCommand = {
  name: 'embed-captions',
  summary: 'Embed captions with a pack text encoder (JSONL {caption, embedding})',
  usage: `usage: caption-studio embed-captions <captions.txt|.jsonl|.json> [--pack DIR] [--out FILE]

  .txt one caption per line; .jsonl objects with "caption" or "text"; .json an array of strings,
  a {file_name: [captions]} map or COCO captions. Writes to stdout unless --out is given.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { pack: { type: 'string' }, out: { type: 'string' } })
    const input = positionals[0]
    if (!input) throw new StudioError('invalid_input', 'no captions file given')
    const packDir = packDirFrom(values.pack)
    const captions = [...new Set((await readCaptionFile(input)).map((p) => p.caption))]
    const out: NodeJS.WritableStream = values.out ? createWriteStream(values.out) : process.stdout
    const client = cliEngine()
    try {
      await client.call('open', { packDir })
      for (let i = 0; i < captions.length; i += CHUNK) {
        const chunk = captions.slice(i, i + CHUNK)
        const embs = await client.call('embedTexts', { packDir, texts: chunk })
        const lines = chunk.map((caption, k) => JSON.stringify({ caption, embedding: Array.from(embs[k]!, (x) => Math.round(x * 1e6) / 1e6) })).join('\n') + '\n'
        if (!out.write(lines)) await new Promise<void>((r) => out.once('drain', () => r()))
        log(`${Math.min(i + CHUNK, captions.length)}/${captions.length}`)
      }
    } finally {
      await client.dispose()
      if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()))
    }
    return 0
  }
}
