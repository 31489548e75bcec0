// Child process of the retrieval bench (plain Node; `caption-studio bench-retrieval-child SPEC`, spawned by
// retrieval-bench.ts). It opens the datastore the parent wrote exactly as the engine does and measures what
// only a fresh process can: resident memory before / after opening it / after queries, then per-query
// latency and recall@10 of the index at several search settings, and the exact scans for comparison.
// [Note: measuring RSS] process.memoryUsage().rss counts the pages of the mmapped index once a search has
// touched them, so RSS is sampled after the timed queries and again after a longer run of fresh ones; the
// index file's size bounds that part. The usearch module is imported before the baseline, so the delta is
// the datastore, not the library code. Exact scans need all int8 rows in memory and run last.
import { readFileSync } from 'node:fs'
import { openCompactDatastore, type CompactDatastore } from '../../engine/packs/datastore-reader'
import { dotI8, HEADER_BYTES } from '../../engine/packs/datastore-format'
import { CANDIDATES, exactScanner } from '../../engine/packs/datastore-index'
import type { CompactDatastoreSpec } from '../../engine/packs/pack-schema'
import { searchCompact } from '../../engine/pipeline/retrieval'
import { topK } from '../../engine/math/linalg'
import { recallAtK, syntheticQueries, syntheticWorld } from './synthetic-embeddings'
import { percentile } from './stats'

export interface ChildSpec {
  dir: string
  datastore: CompactDatastoreSpec & { index: NonNullable<CompactDatastoreSpec['index']> }
  dim: number
  world: { topics: number; seed: number; images: number }
  queriesFile: string
  truth: number[][]
  expansionSweep: number[]
  candidateSweep: number[]
  soakQueries: number
  exactQueries: number
  cutoverRows: number[]
}

export interface LatencyRow {
  expansionSearch: number
  candidates: number
  p50: number
  p95: number
  recall: number
}

/** Linux /proc/self/status: resident anonymous (heap, buffers) and file-backed (mmapped files, code) MB. */
export interface RssSplit {
  anonMB: number
  fileMB: number
}

export interface ChildResult {
  /** RSS splits at base / loaded / after soak; null off Linux. */
  split: { base: RssSplit; loaded: RssSplit; after: RssSplit } | null
  /** Latency over the soak queries (diverse top-5, as the studio asks), ms. */
  soak: { p50: number; p95: number }
  rssBaseMB: number
  rssLoadedMB: number
  rssAfterQueriesMB: number
  rssAfterSoakMB: number
  soakQueries: number
  maxRssMB: number
  loadMs: number
  chosen: LatencyRow
  /** Studio-like: diverse top-5 (retrievalK 5) and top-10. */
  diverse: { k: number; p50: number; p95: number; droppedPerQuery: number }[]
  sweep: LatencyRow[]
  exact: { jsP50: number; jsQueries: number; bruteP50: number; bruteQueries: number; int8Recall: number }
  cutover: { rows: number; bruteP50: number }[]
}

/** Decimal megabytes, as in the 400 MB target. */
const mb = (b: number) => b / 1e6
const rss = () => mb(process.memoryUsage().rss)

function rssSplit(): RssSplit | null {
  try {
    const text = readFileSync('/proc/self/status', 'utf8')
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
    const out = { anonMB: mb(kb('RssAnon') * 1024), fileMB: mb(kb('RssFile') * 1024) }
    return Number.isFinite(out.anonMB) && Number.isFinite(out.fileMB) ? out : null
  } catch {
    return null
  }
}

function timed<T>(fn: () => T): [T, number] {
  const t = performance.now()
  const r = fn()
  return [r, performance.now() - t]
}

/** One untimed pass over all queries first (page faults of a fresh mapping, JIT), then the timed pass. */
function latencyRow(ds: CompactDatastore, queries: Float32Array, dim: number, truth: number[][], ef: number, candidates: number): LatencyRow {
  const q = (i: number) => queries.subarray(i * dim, (i + 1) * dim)
  for (let i = 0; i < truth.length; i++) searchCompact(ds, q(i), 10, { diverse: false, candidates })
  const lat: number[] = []
  const got = truth.map((_, i) => {
    const [r, ms] = timed(() => searchCompact(ds, q(i), 10, { diverse: false, candidates }))
    lat.push(ms)
    return r.map((x) => x.row)
  })
  lat.sort((a, b) => a - b)
  return { expansionSearch: ef, candidates, p50: percentile(lat, 50), p95: percentile(lat, 95), recall: recallAtK(truth, got, 10) }
}

export async function runRetrievalChild(spec: ChildSpec): Promise<ChildResult> {
  await import('usearch')
  const dim = spec.dim
  const raw = readFileSync(spec.queriesFile)
  const queries = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
  const nq = spec.truth.length
  const rssBaseMB = rss()
  const splitBase = rssSplit()
  const t = performance.now()
  const ds = await openCompactDatastore(spec.dir, spec.datastore, dim)
  const loadMs = performance.now() - t
  const rssLoadedMB = rss()
  const splitLoaded = rssSplit()
  const ef = spec.datastore.index.expansionSearch
  const chosen = latencyRow(ds, queries, dim, spec.truth, ef, ds.candidateCount(10))
  const diverse = [5, 10].map((k) => {
    const lat: number[] = []
    let dropped = 0
    for (let i = 0; i < nq; i++) {
      const q = queries.subarray(i * dim, (i + 1) * dim)
      const [r, ms] = timed(() => searchCompact(ds, q, k))
      lat.push(ms)
      const plain = new Set(searchCompact(ds, q, k, { diverse: false }).map((x) => x.row))
      dropped += r.filter((x) => !plain.has(x.row)).length
    }
    lat.sort((a, b) => a - b)
    return { k, p50: percentile(lat, 50), p95: percentile(lat, 95), droppedPerQuery: dropped / nq }
  })
  const rssAfterQueriesMB = rss()
  const w = syntheticWorld(dim, spec.world.topics, spec.world.seed)
  const soak = syntheticQueries(w, spec.world.images, spec.soakQueries, spec.world.seed + 991)
  const soakLat: number[] = []
  for (let i = 0; i < spec.soakQueries; i++) soakLat.push(timed(() => searchCompact(ds, soak.subarray(i * dim, (i + 1) * dim), 5))[1])
  soakLat.sort((a, b) => a - b)
  const rssAfterSoakMB = rss()
  const splitAfter = rssSplit()
  const split = splitBase && splitLoaded && splitAfter ? { base: splitBase, loaded: splitLoaded, after: splitAfter } : null
  const maxRssMB = mb(process.resourceUsage().maxRSS * 1024)

  const sweep: LatencyRow[] = []
  for (const e of spec.expansionSweep) {
    const other = await openCompactDatastore(spec.dir, { ...spec.datastore, index: { ...spec.datastore.index, expansionSearch: e } }, dim)
    sweep.push(latencyRow(other, queries, dim, spec.truth, e, other.candidateCount(10)))
    other.close()
  }
  for (const c of spec.candidateSweep) sweep.push(latencyRow(ds, queries, dim, spec.truth, ef, c))
  ds.close()

  // Exact scans over all int8 rows (held in memory from here on).
  const rows = spec.datastore.rows
  const vec = readFileSync(`${spec.dir}/${spec.datastore.vectors}`)
  const data = new Int8Array(vec.buffer, vec.byteOffset + HEADER_BYTES, rows * dim)
  const scales = ds.scales
  const jsLat: number[] = []
  const jsGot: number[][] = []
  for (let i = 0; i < Math.min(spec.exactQueries, nq); i++) {
    const q = queries.subarray(i * dim, (i + 1) * dim)
    const [best, ms] = timed(() => {
      const sims = new Float32Array(rows)
      for (let r = 0; r < rows; r++) sims[r] = scales[r]! * dotI8(q, data, r * dim, dim)
      return topK(sims, 10)
    })
    jsLat.push(ms)
    jsGot.push(best)
  }
  jsLat.sort((a, b) => a - b)
  const bruteMs = async (n: number, count: number) => {
    const scan = await exactScanner(data.subarray(0, n * dim), n, dim)
    const store: CompactDatastore = { ...ds, rows: n, mode: 'exact', candidateCount: CANDIDATES.i8, candidates: (q, k) => scan.search(q, k), rowInto: (row, out) => (out.set(data.subarray(row * dim, (row + 1) * dim)), out) }
    const lat: number[] = []
    for (let i = 0; i < count + 3; i++) {
      const [, ms] = timed(() => searchCompact(store, queries.subarray((i % nq) * dim, ((i % nq) + 1) * dim), 10, { diverse: false }))
      if (i >= 3) lat.push(ms)
    }
    lat.sort((a, b) => a - b)
    return percentile(lat, 50)
  }
  const bruteQueries = Math.min(spec.exactQueries * 2, nq)
  const exact = { jsP50: percentile(jsLat, 50), jsQueries: jsLat.length, bruteP50: await bruteMs(rows, bruteQueries), bruteQueries, int8Recall: recallAtK(spec.truth.slice(0, jsGot.length), jsGot, 10) }
  const cutover: ChildResult['cutover'] = []
  for (const n of spec.cutoverRows.filter((x) => x < rows)) cutover.push({ rows: n, bruteP50: await bruteMs(n, 50) })
  return { split, soak: { p50: percentile(soakLat, 50), p95: percentile(soakLat, 95) }, rssBaseMB, rssLoadedMB, rssAfterQueriesMB, rssAfterSoakMB, soakQueries: spec.soakQueries, maxRssMB, loadMs, chosen, diverse, sweep, exact, cutover }
}
