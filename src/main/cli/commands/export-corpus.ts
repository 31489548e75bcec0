// CLI (plain Node; process-free engine code only: packs/ and text/, no ONNX session). `export-corpus --pack DIR
// [--out FILE] [--max N]`: a pack's embedded caption corpus (its datastore) as JSON lines {caption, ids,
// embedding} for tools/modelkit/train_decoder.py --pack: `ids` are the pack tokenizer's (the ids a decoder
// in that pack must emit, start and end token included), `embedding` the datastore row, L2-normalised.
// [Note: corpus export] The captions are the pack's own (no re-embedding: the text encoder already ran when the
// pack was built), so a decoder trained on them reads exactly the vectors the pack retrieves against. A
// compact datastore's rows are int8 with a scale (datastore-format.ts): they are written dequantised and
// re-normalised (|Δcos| to the float32 embedding is far below the training noise σ ≈ 0.13 per dimension).
// The pack is verified (sha256) before anything is read, as every load is.
import { createWriteStream } from 'node:fs'
import { StudioError } from '@shared/errors'
import { loadPack } from '../../engine/packs/pack'
import { packDirFrom } from '../cli-support'
import { log, parse, type CliCommand } from '../command'

const r6 = (x: number) => Math.round(x * 1e6) / 1e6

function unit(v: Float32Array): number[] {
  let n = 0
  for (const x of v) n += x * x
  const s = n > 0 ? 1 / Math.sqrt(n) : 0
  return Array.from(v, (x) => r6(x * s))
}

export const exportCorpusCommand: CliCommand = {
  name: 'export-corpus',
  summary: "Write a pack's caption datastore as JSONL {caption, ids, embedding} (training data for a decoder)",
  usage: `usage: caption-studio export-corpus [--pack DIR] [--out FILE] [--max N]

  One line per datastore row: the caption, its token ids under the pack's tokenizer and its embedding.
  --max N   only the first N rows. Writes to stdout unless --out is given.`,
  async run(argv) {
    const { values } = parse(argv, { pack: { type: 'string' }, out: { type: 'string' }, max: { type: 'string' } })
    const max = values.max === undefined ? Infinity : Number(values.max)
    if (!(max > 0) || (max !== Infinity && !Number.isInteger(max))) throw new StudioError('invalid_input', '--max must be a positive integer')
    const pack = await loadPack(packDirFrom(values.pack))
    const out: NodeJS.WritableStream = values.out ? createWriteStream(values.out) : process.stdout
    try {
      const ds = pack.compactDatastore
      const dense = pack.datastore
      const rows = Math.min(max, ds?.rows ?? dense?.rows ?? 0)
      if (rows === 0) throw new StudioError('unsupported', `pack ${pack.json.id} has no caption datastore to export`)
      const dim = pack.json.embedDim
      const q = new Int8Array(dim)
      const v = new Float32Array(dim)
      let buf = ''
      for (let row = 0; row < rows; row++) {
        let caption: string
        if (ds) {
          ds.rowInto(row, q)
          for (let k = 0; k < dim; k++) v[k] = q[k]! * ds.scales[row]!
          caption = ds.caption(row)
        } else {
          v.set(dense!.data.subarray(row * dim, (row + 1) * dim))
          caption = pack.datastoreCaptions[row]!
        }
        buf += JSON.stringify({ caption, ids: pack.tokenizer.encode(caption), embedding: unit(v) }) + '\n'
        if (buf.length > 1 << 20 || row === rows - 1) {
          if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()))
          buf = ''
        }
        if ((row + 1) % 50_000 === 0) log(`${row + 1}/${rows}`)
      }
      log(`${rows} captions of pack ${pack.json.id} written (tokenizer ${pack.json.tokenizer.type})`)
    } finally {
      pack.compactDatastore?.close()
      if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()))
    }
    return 0
  }
}
