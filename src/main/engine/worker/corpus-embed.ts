// Engine worker. Embeds a caption corpus with a pack's text encoder into resumable files (pack builder,
// [Note: resumable corpus embedding]): `captions.jsonl` (the deduplicated, sampled captions, one JSON string
// per line, written once) and `embeddings.f32` (rows × dim little-endian float32, L2-normalised, appended
// per batch). The embeddings file is the checkpoint: after a kill it is cut back to whole rows and embedding
// continues at the next row, so finished batches are never redone and a half-written row is never kept.
import { createReadStream } from 'node:fs'
import { mkdir, open, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { StudioError, ioReasonOf } from '@shared/errors'
import { readCocoCaptions } from '../packs/corpus-coco'
import type { Engine } from './engine'

export interface EmbedCorpusArgs {
  corpusFile: string
  format: 'coco-captions'
  outDir: string
  maxCaptions?: number
  seed?: number
  batch?: number
}

export interface EmbedCorpusResult {
  rows: number
  dim: number
  read: number
  duplicates: number
  captionsFile: string
  embeddingsFile: string
}

const CAPTIONS = 'captions.jsonl'
const EMBEDDINGS = 'embeddings.f32'
const META = 'corpus.json'

async function readLines(path: string): Promise<string[]> {
  const out: string[] = []
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })
  for await (const line of rl) if (line) out.push(JSON.parse(line) as string)
  return out
}

/** Stage the caption list once (atomic), or read it back when an earlier run staged it. */
async function stageCaptions(args: EmbedCorpusArgs): Promise<{ captions: string[]; read: number; duplicates: number }> {
  const metaPath = join(args.outDir, META)
  const meta = await readFile(metaPath, 'utf8').then((t) => JSON.parse(t) as { read: number; duplicates: number; rows: number; maxCaptions: number | null }, () => null)
  if (meta && meta.maxCaptions === (args.maxCaptions ?? null)) {
    const captions = await readLines(join(args.outDir, CAPTIONS))
    if (captions.length === meta.rows) return { captions, read: meta.read, duplicates: meta.duplicates }
  }
  const text = await readFile(args.corpusFile, 'utf8').catch((err: Error) => {
    throw new StudioError('io_error', `corpus ${args.corpusFile}: ${err.message}`, ioReasonOf(err) ?? undefined)
  })
  const r = readCocoCaptions(text, args.corpusFile, { maxCaptions: args.maxCaptions, seed: args.seed })
  await mkdir(args.outDir, { recursive: true })
  const tmp = join(args.outDir, `${CAPTIONS}.tmp`)
  await writeFile(tmp, r.captions.map((c) => JSON.stringify(c)).join('\n') + '\n')
  await rename(tmp, join(args.outDir, CAPTIONS))
  await writeFile(join(args.outDir, EMBEDDINGS), Buffer.alloc(0))
  await writeFile(metaPath, JSON.stringify({ read: r.read, duplicates: r.duplicates, rows: r.captions.length, maxCaptions: args.maxCaptions ?? null }))
  return r
}

export async function embedCorpus(engine: Engine, args: EmbedCorpusArgs, signal: AbortSignal, onProgress: (p: { done: number; total: number }) => void): Promise<EmbedCorpusResult> {
  const { captions, read, duplicates } = await stageCaptions(args)
  const dim = engine.dim
  const rowBytes = dim * 4
  const embPath = join(args.outDir, EMBEDDINGS)
  const size = (await stat(embPath).catch(() => null))?.size ?? 0
  let done = Math.min(captions.length, Math.floor(size / rowBytes))
  if (size !== done * rowBytes) await truncate(embPath, done * rowBytes)
  const batch = Math.max(1, Math.min(1024, args.batch ?? 64))
  onProgress({ done, total: captions.length })
  const fh = await open(embPath, 'a')
  try {
    while (done < captions.length) {
      if (signal.aborted) throw new StudioError('cancelled', 'corpus embedding cancelled')
      const texts = captions.slice(done, done + batch)
      const embs = await engine.embedTexts(texts, { cache: false })
      const buf = Buffer.alloc(texts.length * rowBytes)
      embs.forEach((e, i) => {
        for (let k = 0; k < dim; k++) buf.writeFloatLE(e[k]!, (i * dim + k) * 4)
      })
      await fh.write(buf)
      done += texts.length
      onProgress({ done, total: captions.length })
    }
  } finally {
    await fh.close()
  }
  return { rows: captions.length, dim, read, duplicates, captionsFile: join(args.outDir, CAPTIONS), embeddingsFile: embPath }
}

/** Read back a finished embedding stage (the pack builder's datastore step). */
export async function readCorpusEmbeddings(outDir: string, dim: number): Promise<{ captions: string[]; embeddings: Float32Array }> {
  const captions = await readLines(join(outDir, CAPTIONS))
  const buf = await readFile(join(outDir, EMBEDDINGS))
  if (buf.byteLength !== captions.length * dim * 4) throw new StudioError('model_error', `${outDir}: ${buf.byteLength} bytes of embeddings for ${captions.length} captions of ${dim} dims`)
  const embeddings = new Float32Array(captions.length * dim)
  for (let i = 0; i < embeddings.length; i++) embeddings[i] = buf.readFloatLE(i * 4)
  return { captions, embeddings }
}
