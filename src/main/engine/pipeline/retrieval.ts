// Engine worker (plain Node) — also callable in-process (eval, bench). Datastore retrieval for the caption
// pipeline: the k datastore captions nearest a query embedding, from either datastore layout, with each
// row's caption text and source.
// [Note: retrieval] A float32 datastore (`arrays.datastore`, the demo pack) is scanned exactly and cut to a
// plain top-k: the code path from before compact datastores, so its results do not change by a bit. A
// compact datastore answers in three steps: (1) candidates from the ANN index (or a brute-force int8 scan
// when small), as many as its coding needs (datastore-index.ts CANDIDATES); (2) exact re-scoring of each candidate as
// scale·(q·row) with the float query, sorted (ties by row); (3) *diverse* top-k: walking down that list, a
// caption is skipped when its captionKey equals a chosen one's or its row's cosine with a chosen row is
// ≥ 0.95 (COCO has five captions per image, often near-paraphrases, so the five best are otherwise one
// image said five ways). When fewer than k survive, the candidate list doubles (at most all rows).
import { captionKey, dotI8 } from '../packs/datastore-format'
import type { CompactDatastore } from '../packs/datastore-reader'
import type { LoadedPack } from '../packs/pack'
import type { DatastoreSource } from '../packs/pack-schema'
import { matVecRows, topK, type Vec } from '../math/linalg'

export interface Retrieved {
  row: number
  similarity: number
}

export interface RetrieveOptions {
  /** Drop near-duplicates (compact datastores only; default true). */
  diverse?: boolean
  /** Rows at least this similar count as one caption (default 0.95). */
  duplicateCosine?: number
  /** ANN candidates to re-score (default: the datastore's candidateCount(k)). */
  candidates?: number
}

export const DUPLICATE_COSINE = 0.95

export function datastoreRows(pack: LoadedPack): number {
  return pack.compactDatastore?.rows ?? pack.datastore?.rows ?? 0
}

export function datastoreCaption(pack: LoadedPack, row: number): string {
  return pack.compactDatastore ? pack.compactDatastore.caption(row) : pack.datastoreCaptions[row]!
}

export function datastoreSource(pack: LoadedPack, row: number): DatastoreSource | null {
  return pack.compactDatastore ? pack.compactDatastore.source(row) : (pack.datastoreSource ?? null)
}

/** The k nearest datastore rows to q (L2-normalised), best first; [] when the pack has no datastore. */
export function retrieve(pack: LoadedPack, q: Vec, k: number, opts: RetrieveOptions = {}): Retrieved[] {
  if (pack.compactDatastore) return searchCompact(pack.compactDatastore, q, k, opts)
  if (!pack.datastore) return []
  const sims = matVecRows(pack.datastore.data, pack.datastore.rows, pack.datastore.cols, q)
  return topK(sims, k).map((row) => ({ row, similarity: sims[row]! }))
}

function intDot(a: Int8Array, ao: number, b: Int8Array, bo: number, dim: number): number {
  let s = 0
  for (let k = 0; k < dim; k++) s += a[ao + k]! * b[bo + k]!
  return s
}

export function searchCompact(store: CompactDatastore, q: Vec, k: number, opts: RetrieveOptions = {}): Retrieved[] {
  const dim = store.dim
  if (q.length !== dim) throw new Error(`query is ${q.length}-d, the datastore ${dim}-d`)
  const want = Math.min(k, store.rows)
  if (want <= 0) return []
  const diverse = opts.diverse ?? true
  const threshold = opts.duplicateCosine ?? DUPLICATE_COSINE
  let kc = Math.min(store.rows, Math.max(want, opts.candidates ?? store.candidateCount(want)))
  for (;;) {
    const cand = store.candidates(q, kc)
    const rows = new Int8Array(cand.length * dim)
    const scored = cand.map((row, i) => {
      store.rowInto(row, rows.subarray(i * dim, (i + 1) * dim))
      return { row, at: i, similarity: store.scales[row]! * dotI8(q, rows, i * dim, dim) }
    })
    scored.sort((a, b) => b.similarity - a.similarity || a.row - b.row)
    if (!diverse) return scored.slice(0, want).map(({ row, similarity }) => ({ row, similarity }))
    const chosen: { at: number; norm: number }[] = []
    const keys = new Set<string>()
    const out: Retrieved[] = []
    for (const c of scored) {
      const key = captionKey(store.caption(c.row))
      if (keys.has(key)) continue
      const norm = Math.sqrt(intDot(rows, c.at * dim, rows, c.at * dim, dim)) || 1
      if (chosen.some((x) => intDot(rows, c.at * dim, rows, x.at * dim, dim) / (norm * x.norm) >= threshold)) continue
      keys.add(key)
      chosen.push({ at: c.at, norm })
      out.push({ row: c.row, similarity: c.similarity })
      if (out.length === want) return out
    }
    if (kc >= store.rows) return out
    kc = Math.min(store.rows, kc * 2)
  }
}
