// Any Node process (the bench CLI; spawns one child). The caption datastore at photo-pack scale: 590,000
// synthetic 512-d caption embeddings (synthetic-embeddings.ts) streamed through DatastoreWriter with the
// exact float32 top-10 of every query computed on the way, the index build timed, then a child process
// (retrieval-child.ts) opens the datastore like the engine and measures RSS, latency and recall. In this
// process: the storage-format accuracy (int8 per-row scale vs float16 vs float32) and the caption-table
// load (offsets + blob vs one JSON array).
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { DatastoreWriter } from '../../engine/packs/datastore-writer'
import { parseCaptions, quantizeRow } from '../../engine/packs/datastore-format'
import type { IndexParams } from '../../engine/packs/datastore-index'
import type { ChildResult, ChildSpec } from './retrieval-child'
import { CAPTIONS_PER_IMAGE, ExactTopK, recallAtK, syntheticCaption, syntheticQueries, syntheticRows, syntheticWorld } from './synthetic-embeddings'

export interface FormatRow {
  format: 'float32' | 'float16' | 'int8 + row scale'
  bytesPerRow: number
  /** |Δ similarity| against float32 over sample rows × queries. */
  meanAbs: number
  maxAbs: number
  /** recall@10 of an exact search in this format against float32, on the sample. */
  recall: number
}

export interface RetrievalBench {
  rows: number
  dim: number
  topics: number
  queries: number
  params: IndexParams
  threads: number
  generateSeconds: number
  exactTruthSeconds: number
  writeSeconds: number
  buildSeconds: number
  finishSeconds: number
  fileBytes: { vectors: number; captions: number; index: number; shards: number }
  format: { sampleRows: number; sampleQueries: number; rows: FormatRow[] }
  captionsLoad: { jsonMs: number; jsonHeapMiB: number; jsonBytes: number; blobMs: number; blobBytes: number }
  child: ChildResult
}

export interface RetrievalBenchOptions {
  rows: number
  dim?: number
  queries?: number
  params: IndexParams
  threads: number
  scratch: string
  /** argv that starts `caption-studio` in a child: [node, cli.js]. */
  cli: [string, string]
  log: (line: string) => void
}

const SEED = 20_240_601
const CHUNK_IMAGES = 2000

/** Round to the nearest float16 value (normal range, subnormals to 2^-24 steps; exact ties round away from
 *  zero, not to even); enough for error statistics. */
export function f16round(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x
  const a = Math.abs(x)
  const step = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10)
  return Math.sign(x) * Math.round(a / step) * step
}

/** Storage formats on a sample: similarity error against float32 and recall@10 of an exact search. */
export function formatAccuracy(rows: Float32Array, queries: Float32Array, dim: number): FormatRow[] {
  const n = rows.length / dim
  const nq = queries.length / dim
  const f16 = rows.map(f16round)
  const q8 = new Int8Array(rows.length)
  const scale = new Float32Array(n)
  for (let i = 0; i < n; i++) scale[i] = quantizeRow(rows, i * dim, dim, q8, i * dim)
  const exact = new ExactTopK(queries, dim, 10)
  exact.add(rows)
  const truth = exact.result()
  const sims = (row: (i: number, k: number) => number) => {
    const out: number[][] = []
    const err = { sum: 0, max: 0 }
    for (let q = 0; q < nq; q++) {
      const s = new Float32Array(n)
      for (let i = 0; i < n; i++) {
        let a = 0
        let b = 0
        for (let k = 0; k < dim; k++) {
          a += rows[i * dim + k]! * queries[q * dim + k]!
          b += row(i, k) * queries[q * dim + k]!
        }
        s[i] = b
        const e = Math.abs(a - b)
        err.sum += e
        if (e > err.max) err.max = e
      }
      out.push([...s.keys()].sort((x, y) => s[y]! - s[x]! || x - y).slice(0, 10))
    }
    return { recall: recallAtK(truth, out, 10), meanAbs: err.sum / (n * nq), maxAbs: err.max }
  }
  const h = sims((i, k) => f16[i * dim + k]!)
  const e8 = sims((i, k) => scale[i]! * q8[i * dim + k]!)
  return [
    { format: 'float32', bytesPerRow: 4 * dim, meanAbs: 0, maxAbs: 0, recall: 1 },
    { format: 'float16', bytesPerRow: 2 * dim, ...h },
    { format: 'int8 + row scale', bytesPerRow: dim + 4, ...e8 }
  ]
}

function captionsLoad(dir: string, captionsFile: string, rows: number): RetrievalBench['captionsLoad'] {
  const jsonPath = join(dir, 'captions.json')
  const list = Array.from({ length: rows }, (_, i) => syntheticCaption(i))
  writeFileSync(jsonPath, JSON.stringify(list))
  list.length = 0
  const jsonBytes = readFileSync(jsonPath).byteLength
  // A full GC before and after, so the heap delta is what the parsed array keeps alive.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const heap0 = process.memoryUsage().heapUsed
  let t = performance.now()
  const parsed = JSON.parse(readFileSync(jsonPath, 'utf8')) as string[]
  const jsonMs = performance.now() - t
  gc()
  const jsonHeapMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20
  if (parsed.length !== rows) throw new Error('caption JSON round trip failed')
  t = performance.now()
  const buf = readFileSync(join(dir, captionsFile))
  const table = parseCaptions(buf, captionsFile, rows, new Set([0]))
  const blobMs = performance.now() - t
  rmSync(jsonPath)
  if (table.rows !== rows) throw new Error('caption table round trip failed')
  return { jsonMs, jsonHeapMiB, jsonBytes, blobMs, blobBytes: buf.byteLength }
}

function runChild(cli: [string, string], spec: ChildSpec, specFile: string, log: (l: string) => void): Promise<ChildResult> {
  writeFileSync(specFile, JSON.stringify(spec))
  return new Promise((resolve, reject) => {
    const child = spawn(cli[0], [cli[1], 'bench-retrieval-child', specFile], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`retrieval bench child exited with ${code}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildResult)
      } catch (err) {
        log(out)
        reject(err as Error)
      }
    })
  })
}

export async function benchRetrieval(o: RetrievalBenchOptions): Promise<RetrievalBench> {
  const dim = o.dim ?? 512
  const nq = o.queries ?? 100
  const images = Math.ceil(o.rows / CAPTIONS_PER_IMAGE)
  const rows = images * CAPTIONS_PER_IMAGE
  const topics = Math.max(50, Math.round(rows / 150))
  rmSync(o.scratch, { recursive: true, force: true })
  const dir = join(o.scratch, 'datastore')
  mkdirSync(dir, { recursive: true })
  const w = syntheticWorld(dim, topics, SEED)
  const queries = syntheticQueries(w, images, nq, SEED + 1)
  const exact = new ExactTopK(queries, dim, 10)
  const writer = await DatastoreWriter.create(dir, { dim, sources: [{ id: 0, name: 'synthetic', licence: 'CC0-1.0' }], index: 'always', indexParams: o.params, threads: o.threads, onProgress: progress(o.log) })
  let generate = 0
  let truth = 0
  let write = 0
  let sample: Float32Array | null = null
  for (let from = 0; from < images; from += CHUNK_IMAGES) {
    const to = Math.min(images, from + CHUNK_IMAGES)
    let t = performance.now()
    const chunk = syntheticRows(w, from, to)
    generate += performance.now() - t
    sample ??= chunk.slice(0, 10_000 * dim)
    t = performance.now()
    exact.add(chunk)
    truth += performance.now() - t
    t = performance.now()
    const caps = Array.from({ length: (to - from) * CAPTIONS_PER_IMAGE }, (_, i) => syntheticCaption(from * CAPTIONS_PER_IMAGE + i))
    await writer.add(caps, chunk, 0)
    write += performance.now() - t
    if ((from / CHUNK_IMAGES) % 10 === 0) o.log(`retrieval: ${to * CAPTIONS_PER_IMAGE} / ${rows} rows written`)
  }
  let t = performance.now()
  const res = await writer.finish()
  const finishSeconds = (performance.now() - t) / 1000
  if (res.stats.rows !== rows) throw new Error(`the writer kept ${res.stats.rows} of ${rows} synthetic rows (they are all distinct)`)
  const size = (p: string) => res.files.find((f) => f.path === p)?.bytes ?? 0
  const spec = res.datastore as ChildSpec['datastore']
  o.log(`retrieval: index built in ${res.stats.indexSeconds!.toFixed(1)} s; measuring in a child process`)
  const queriesFile = join(o.scratch, 'queries.f32')
  writeFileSync(queriesFile, Buffer.from(queries.buffer))
  t = performance.now()
  const child = await runChild(o.cli, {
    dir, datastore: spec, dim, world: { topics, seed: SEED, images }, queriesFile, truth: exact.result(),
    expansionSweep: [32, 128, 256].filter((e) => e !== o.params.expansionSearch), candidateSweep: o.params.quantization === 'b1' ? [40, 100, 400] : [10, 20, 80],
    soakQueries: 2000, exactQueries: 10, cutoverRows: [5_000, 20_000, 50_000, 100_000]
  }, join(o.scratch, 'child.json'), o.log)
  o.log(`retrieval: child done in ${((performance.now() - t) / 1000).toFixed(0)} s; format accuracy and caption loading`)
  const sq = queries.slice(0, 50 * dim)
  const out: RetrievalBench = {
    rows, dim, topics, queries: nq, params: o.params, threads: o.threads,
    generateSeconds: generate / 1000, exactTruthSeconds: truth / 1000, writeSeconds: write / 1000,
    buildSeconds: res.stats.indexSeconds!, finishSeconds,
    fileBytes: { vectors: size(spec.vectors), captions: size(spec.captions), index: spec.index.files.reduce((a, f) => a + size(f), 0), shards: spec.index.files.length },
    format: { sampleRows: sample!.length / dim, sampleQueries: 50, rows: formatAccuracy(sample!, sq, dim) },
    captionsLoad: captionsLoad(dir, spec.captions, rows),
    child
  }
  rmSync(o.scratch, { recursive: true, force: true })
  return out
}

function progress(log: (l: string) => void) {
  let last = -1
  return (p: { phase: string; done: number; total: number }) => {
    const tenth = Math.floor((p.done / p.total) * 10)
    if (p.phase === 'index' && tenth !== last) {
      last = tenth
      log(`retrieval: index ${p.done} / ${p.total}`)
    }
  }
}
