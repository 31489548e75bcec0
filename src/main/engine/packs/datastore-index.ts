// Any process (the usearch N-API module, loaded lazily on first use so that importing this file costs
// nothing). The ANN index of a compact datastore: an HNSW graph (usearch 2.26.2) built by the writer and
// memory-mapped by the reader, plus a brute-force int8 scan for datastores too small to need an index.
// [Note: index choice] Two codings of the rows inside the graph, both followed by exact re-scoring of the
// candidates on the int8 rows of the vectors file:
// - `i8`: our own per-row-scaled int8 rows and queries (never usearch's float→int8 cast, which scales by
//   127/‖x‖ and leaves a unit 512-d vector only ~±30 levels), cosine metric (blind to the row scale). The
//   graph holds a second copy of the rows: ~660 B/row, 390 MB at 590k rows, every page of it resident
//   once enough queries have touched it.
// - `b1`: the sign bits of each row minus the datastore mean (`centre`, a random-hyperplane hash; without
//   centring every CLIP text embedding would share most signs), Hamming metric: 64 B of code + graph,
//   ~210 B/row, 125 MB at 590k. Bits rank candidates coarsely, so more of them (CANDIDATES.b1) are
//   re-scored; their int8 rows are read from the vectors file, which stays in the OS page cache, not in
//   the process.
// [Note: index shards] One graph per `shardRows` rows (rows [s·shardRows, (s+1)·shardRows) in shard s,
// keys = global rows); a query searches every shard and re-scores the union. Measured on the synthetic
// datastore: a b1 graph over 100k rows found 0.99 of the exact top-10 (200 candidates), one over 590k
// rows only 0.90 (0.92 with 400), while the 200 rows nearest in exact Hamming distance hold all of the
// top-10, so the single large graph, not the codes, lost them; shards keep each graph at a size measured
// to work.
// Parameters (DEFAULT_INDEX_PARAMS), candidate counts and the exact-scan cut-over (EXACT_SCAN_MAX_ROWS) were
// chosen by measuring recall@10, p50, build time and resident memory on 590,000 clustered synthetic 512-d
// rows on 2 cores (`npm run bench -- --only retrieval`, docs/benchmarks.md).
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StudioError } from '@shared/errors'
import type { DatastoreIndexSpec } from './pack-schema'
import { quantizeRow } from './datastore-format'

type Usearch = typeof import('usearch')
let usearchModule: Promise<Usearch> | null = null

async function usearch(): Promise<Usearch> {
  usearchModule ??= import('usearch').catch((err: unknown) => {
    usearchModule = null
    throw new StudioError('unsupported', `the usearch native module (datastore index) could not be loaded: ${(err as Error).message}`)
  })
  return usearchModule
}

export type IndexCoding = 'i8' | 'b1'

export interface IndexParams {
  quantization: IndexCoding
  /** Rows per graph ([Note: index shards]). */
  shardRows: number
  connectivity: number
  expansionAdd: number
  expansionSearch: number
}

/** Measured choice ([Note: index choice]). */
export const DEFAULT_INDEX_PARAMS: IndexParams = { quantization: 'b1', shardRows: 150_000, connectivity: 16, expansionAdd: 64, expansionSearch: 64 }
/** Up to this many rows a brute-force int8 scan answers within a few ms, so no index is built. */
export const EXACT_SCAN_MAX_ROWS = 20_000
/** Candidates re-scored for a top-k, *per shard*, by index coding (brute force ranks by the int8 cosine, like i8). */
export const CANDIDATES: Record<IndexCoding, (k: number) => number> = { i8: (k) => Math.max(4 * k, 40), b1: (k) => Math.max(10 * k, 100) }

export const shardCount = (rows: number, shardRows: number): number => Math.max(1, Math.ceil(rows / shardRows))

export const indexSpecFor = (files: string[], p: IndexParams, centre?: string): DatastoreIndexSpec => ({
  files,
  kind: 'usearch-hnsw',
  shardRows: p.shardRows,
  metric: p.quantization === 'b1' ? 'hamming' : 'cos',
  quantization: p.quantization,
  connectivity: p.connectivity,
  expansionAdd: p.expansionAdd,
  expansionSearch: p.expansionSearch,
  ...(centre ? { centre } : {})
})

function newIndex(m: Usearch, dim: number, p: Omit<IndexParams, 'shardRows'>) {
  const b1 = p.quantization === 'b1'
  return new m.Index({
    dimensions: dim,
    metric: b1 ? m.MetricKind.Hamming : m.MetricKind.Cos,
    quantization: b1 ? m.ScalarKind.B1 : m.ScalarKind.I8,
    connectivity: p.connectivity,
    expansion_add: p.expansionAdd,
    expansion_search: p.expansionSearch,
    multi: false
  })
}

/** Row minus centre as float32, the input whose signs usearch packs into b1 codes. */
function centred(rows: Int8Array, scales: Float32Array, first: number, dim: number, centre: Float32Array): Float32Array {
  const out = new Float32Array(rows.length)
  for (let i = 0; i < rows.length / dim; i++) {
    const s = scales[first + i]!
    for (let k = 0; k < dim; k++) out[i * dim + k] = s * rows[i * dim + k]! - centre[k]!
  }
  return out
}

export interface BuildProgress {
  done: number
  total: number
}

/**
 * Build the index shards from int8 rows delivered in order in chunks (keys = row numbers) and save shard s
 * to `out(s)`. `centre` is required for b1. Yields to the event loop between chunks (progress, abort).
 */
export async function buildIndex(
  out: (shard: number) => string,
  dim: number,
  scales: Float32Array,
  chunks: AsyncIterable<{ first: number; rows: Int8Array }>,
  p: IndexParams,
  opts: { centre?: Float32Array; threads?: number; onProgress?: (x: BuildProgress) => void; signal?: AbortSignal } = {}
): Promise<void> {
  const m = await usearch()
  const total = scales.length
  if (p.quantization === 'b1' && !opts.centre) throw new StudioError('internal', 'a b1 index needs the datastore centre')
  let shard = 0
  let index = newIndex(m, dim, p)
  const close = (s: number) => {
    const want = Math.min(p.shardRows, total - s * p.shardRows)
    if (index.size() !== want) throw new StudioError('internal', `datastore index shard ${s} holds ${index.size()} rows, expected ${want}`)
    index.save(out(s))
  }
  let done = 0
  for await (const c of chunks) {
    const n = c.rows.length / dim
    for (let at = 0; at < n; ) {
      if (opts.signal?.aborted) throw new StudioError('cancelled', 'datastore index build cancelled')
      const row = c.first + at
      if (Math.floor(row / p.shardRows) !== shard) {
        close(shard)
        shard++
        index = newIndex(m, dim, p)
      }
      const take = Math.min(n - at, (shard + 1) * p.shardRows - row)
      const keys = new BigUint64Array(take)
      for (let i = 0; i < take; i++) keys[i] = BigInt(row + i)
      const part = c.rows.subarray(at * dim, (at + take) * dim)
      index.add(keys, p.quantization === 'b1' ? centred(part, scales, row, dim, opts.centre!) : part, opts.threads ?? 2)
      at += take
      done += take
      opts.onProgress?.({ done, total })
      await new Promise((r) => setImmediate(r))
    }
  }
  if (done !== total || shard !== shardCount(total, p.shardRows) - 1) throw new StudioError('internal', `datastore index got ${done} of ${total} rows`)
  close(shard)
}

/** What usearch's save() writes first: u32 rows, u32 bytes per row, the rows, then a header starting "usearch". */
async function checkIndexFile(path: string, file: string, rows: number, rowBytes: number): Promise<void> {
  const fh = await open(path, 'r').catch(() => {
    throw new StudioError('not_found', `${file}: missing`)
  })
  try {
    const size = (await fh.stat()).size
    const head = Buffer.alloc(8)
    const magic = Buffer.alloc(7)
    const at = 8 + rows * rowBytes
    if (size < at + 64) throw new StudioError('model_error', `${file}: ${size} bytes, too short for an index of ${rows} rows of ${rowBytes} bytes (truncated?)`)
    await fh.read(head, 0, 8, 0)
    await fh.read(magic, 0, 7, at)
    if (magic.toString('latin1') !== 'usearch') throw new StudioError('model_error', `${file}: not a usearch index file`)
    if (head.readUInt32LE(0) !== rows || head.readUInt32LE(4) !== rowBytes) throw new StudioError('model_error', `${file}: indexes ${head.readUInt32LE(0)} rows of ${head.readUInt32LE(4)} bytes, the datastore needs ${rows} rows of ${rowBytes}`)
  } finally {
    await fh.close()
  }
}

export interface AnnIndex {
  /** Up to k row numbers per shard for a float query (L2-normalised), each shard's nearest first by the
   *  index's own coding. */
  search(q: Float32Array, k: number): number[]
}

function keysBelow(keys: BigUint64Array, rows: number): number[] {
  const out: number[] = []
  for (let i = 0; i < keys.length; i++) {
    const key = Number(keys[i]!)
    if (key < rows) out.push(key)
  }
  return out
}

async function readCentre(dir: string, file: string, dim: number): Promise<Float32Array> {
  const buf = await readFile(join(dir, file)).catch(() => {
    throw new StudioError('not_found', `${file}: missing`)
  })
  if (buf.byteLength !== dim * 4) throw new StudioError('model_error', `${file}: ${buf.byteLength} bytes, a ${dim}-d centre needs ${dim * 4}`)
  const c = new Float32Array(dim)
  for (let k = 0; k < dim; k++) c[k] = buf.readFloatLE(4 * k)
  if (!c.every(Number.isFinite)) throw new StudioError('model_error', `${file}: not finite (corrupted)`)
  return c
}

/** Memory-map the saved shards after checking that each is a usearch file covering its rows. */
export async function openIndex(dir: string, spec: DatastoreIndexSpec, rows: number, dim: number): Promise<AnnIndex> {
  const b1 = spec.quantization === 'b1'
  const shards = shardCount(rows, spec.shardRows)
  if (spec.files.length !== shards) throw new StudioError('model_error', `datastore.index: ${spec.files.length} shard files for ${rows} rows of ${spec.shardRows} per shard (expected ${shards})`)
  const centre = b1 ? await readCentre(dir, spec.centre!, dim) : null
  const m = await usearch()
  const graphs: { index: ReturnType<typeof newIndex>; n: number }[] = []
  for (const [s, file] of spec.files.entries()) {
    const n = Math.min(spec.shardRows, rows - s * spec.shardRows)
    await checkIndexFile(join(dir, file), file, n, b1 ? Math.ceil(dim / 8) : dim)
    const index = newIndex(m, dim, spec)
    try {
      index.view(join(dir, file))
    } catch (err) {
      throw new StudioError('model_error', `${file}: ${(err as Error).message}`)
    }
    if (index.size() !== n || index.dimensions() !== dim) throw new StudioError('model_error', `${file}: holds ${index.size()} vectors of ${index.dimensions()} dims, the shard has ${n} × ${dim}`)
    graphs.push({ index, n })
  }
  const q8 = new Int8Array(dim)
  const qc = new Float32Array(dim)
  return {
    search(q, k) {
      let input: Float32Array | Int8Array
      if (centre) {
        for (let j = 0; j < dim; j++) qc[j] = q[j]! - centre[j]!
        input = qc
      } else {
        quantizeRow(q, 0, dim, q8, 0)
        input = q8
      }
      return graphs.flatMap((g) => keysBelow(g.index.search(input, Math.min(k, g.n), 1).keys, rows))
    }
  }
}

/** Brute force over int8 rows held in memory (SIMD in usearch), nearest first by the int8 cosine. */
export async function exactScanner(rowsIn: Int8Array, count: number, dim: number): Promise<AnnIndex> {
  const m = await usearch()
  // usearch reads a typed array's data from the start of its ArrayBuffer (byteOffset ignored): copy views.
  const rows = rowsIn.byteOffset === 0 ? rowsIn : rowsIn.slice()
  const q8 = new Int8Array(dim)
  return {
    search(q, k) {
      quantizeRow(q, 0, dim, q8, 0)
      const r = m.exactSearch(rows, q8, dim, Math.min(k, count), m.MetricKind.Cos, 1)
      return keysBelow(r instanceof m.BatchMatches ? r.get(0).keys : r.keys, count)
    }
  }
}
