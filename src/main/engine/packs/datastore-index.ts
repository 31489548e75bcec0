// Any process (the usearch N-API module, loaded lazily on first use so that importing this file costs
// nothing). The ANN index of a compact datastore: an HNSW graph (usearch 2.26.2) over the *same* int8 rows
// as the vectors file, cosine metric, built by the writer and memory-mapped by the reader; plus a brute-force
// int8 scan for datastores too small to need an index.
// [Note: index choice] usearch is given our own per-row-scaled int8 rows (never its float→int8 cast, which
// scales every vector by 127/‖x‖ and leaves a unit 512-d vector only ~±30 levels) and queries, and the
// metric is cosine, which ignores each row's scale. Parameters (DEFAULT_INDEX_PARAMS) and the exact-scan
// cut-over (EXACT_SCAN_MAX_ROWS) were chosen by measuring recall@10 and p50 on 590,000 clustered synthetic
// 512-d vectors on 2 cores (`npm run bench -- --only retrieval`, docs/benchmarks.md). The index is opened
// with `view` (mmap): its pages are file-backed and clean, so the OS can drop them under memory pressure.
import { open } from 'node:fs/promises'
import { StudioError } from '@shared/errors'
import type { DatastoreIndexSpec } from './pack-schema'

type Usearch = typeof import('usearch')
let usearchModule: Promise<Usearch> | null = null

async function usearch(): Promise<Usearch> {
  usearchModule ??= import('usearch').catch((err: unknown) => {
    usearchModule = null
    throw new StudioError('unsupported', `the usearch native module (datastore index) could not be loaded: ${(err as Error).message}`)
  })
  return usearchModule
}

export interface IndexParams {
  connectivity: number
  expansionAdd: number
  expansionSearch: number
}

/** Measured choice ([Note: index choice]). */
export const DEFAULT_INDEX_PARAMS: IndexParams = { connectivity: 16, expansionAdd: 64, expansionSearch: 64 }
/** Up to this many rows a brute-force int8 scan answers within a few ms, so no index is built. */
export const EXACT_SCAN_MAX_ROWS = 20_000

export const indexSpecFor = (file: string, p: IndexParams): DatastoreIndexSpec => ({ file, kind: 'usearch-hnsw', metric: 'cos', quantization: 'i8', ...p })

function newIndex(m: Usearch, dim: number, p: IndexParams) {
  return new m.Index({ dimensions: dim, metric: m.MetricKind.Cos, quantization: m.ScalarKind.I8, connectivity: p.connectivity, expansion_add: p.expansionAdd, expansion_search: p.expansionSearch, multi: false })
}

export interface BuildProgress {
  done: number
  total: number
}

/**
 * Build the index from int8 rows delivered in chunks (row keys = row numbers), then save it to `out`.
 * Yields to the event loop between chunks so progress callbacks and an abort signal are seen.
 */
export async function buildIndex(
  out: string,
  dim: number,
  total: number,
  chunks: AsyncIterable<{ first: number; rows: Int8Array }>,
  p: IndexParams,
  opts: { threads?: number; onProgress?: (x: BuildProgress) => void; signal?: AbortSignal } = {}
): Promise<void> {
  const m = await usearch()
  const index = newIndex(m, dim, p)
  let done = 0
  for await (const c of chunks) {
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'datastore index build cancelled')
    const n = c.rows.length / dim
    const keys = new BigUint64Array(n)
    for (let i = 0; i < n; i++) keys[i] = BigInt(c.first + i)
    index.add(keys, c.rows, opts.threads ?? 2)
    done += n
    opts.onProgress?.({ done, total })
    await new Promise((r) => setImmediate(r))
  }
  if (index.size() !== total) throw new StudioError('internal', `datastore index holds ${index.size()} rows, expected ${total}`)
  index.save(out)
}

/** What usearch's save() writes first: u32 rows, u32 bytes per row, the rows, then a header starting "usearch". */
async function checkIndexFile(path: string, file: string, rows: number, dim: number): Promise<void> {
  const fh = await open(path, 'r').catch(() => {
    throw new StudioError('not_found', `${file}: missing`)
  })
  try {
    const size = (await fh.stat()).size
    const head = Buffer.alloc(8)
    const magic = Buffer.alloc(7)
    const at = 8 + rows * dim
    if (size < at + 64) throw new StudioError('model_error', `${file}: ${size} bytes, too short for an index of ${rows} rows × ${dim} (truncated?)`)
    await fh.read(head, 0, 8, 0)
    await fh.read(magic, 0, 7, at)
    if (magic.toString('latin1') !== 'usearch') throw new StudioError('model_error', `${file}: not a usearch index file`)
    if (head.readUInt32LE(0) !== rows || head.readUInt32LE(4) !== dim) throw new StudioError('model_error', `${file}: indexes ${head.readUInt32LE(0)} rows of ${head.readUInt32LE(4)} bytes, the datastore has ${rows} rows × ${dim} int8`)
  } finally {
    await fh.close()
  }
}

export interface AnnIndex {
  /** Up to k row numbers, nearest first by the int8 cosine. */
  search(q: Int8Array, k: number): number[]
}

/** Memory-map a saved index after checking that it is one and that it covers this datastore. */
export async function openIndex(path: string, spec: DatastoreIndexSpec, rows: number, dim: number): Promise<AnnIndex> {
  await checkIndexFile(path, spec.file, rows, dim)
  const m = await usearch()
  const index = newIndex(m, dim, spec)
  try {
    index.view(path)
  } catch (err) {
    throw new StudioError('model_error', `${spec.file}: ${(err as Error).message}`)
  }
  if (index.size() !== rows || index.dimensions() !== dim) throw new StudioError('model_error', `${spec.file}: holds ${index.size()} vectors of ${index.dimensions()} dims, the datastore has ${rows} × ${dim}`)
  return {
    search(q, k) {
      const r = index.search(q, Math.min(k, rows), 1)
      const out: number[] = []
      for (let i = 0; i < r.keys.length; i++) {
        const key = Number(r.keys[i]!)
        if (key < rows) out.push(key)
      }
      return out
    }
  }
}

/** Brute force over int8 rows held in memory (SIMD in usearch), nearest first by the int8 cosine. */
export async function exactScanner(rows: Int8Array, count: number, dim: number): Promise<AnnIndex> {
  const m = await usearch()
  return {
    search(q, k) {
      const r = m.exactSearch(rows, q, dim, Math.min(k, count), m.MetricKind.Cos, 1)
      const keys = r instanceof m.BatchMatches ? r.get(0).keys : r.keys
      const out: number[] = []
      for (let i = 0; i < keys.length; i++) {
        const key = Number(keys[i]!)
        if (key < count) out.push(key)
      }
      return out
    }
  }
}
