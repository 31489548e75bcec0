// Engine worker (plain Node) — also callable in-process (eval, bench). DeCap's projection decoding
// (methods.md §2): the decoder input is replaced by its projection onto the caption memory,
// p = normalize(softmax(M·q / τ) @ M), τ = 0.01 (DeCap's 100·sim), so a decoder trained on text embeddings
// reads a text-like vector instead of an image embedding across the modality gap.
// [Note: memory projection] The memory is the pack's caption datastore. A float32 datastore (the demo pack,
// 4,000 rows) is used whole: one exact N×d scan per decoder input. A compact int8 datastore uses the
// MEMORY_NEIGHBOURS = 256 rows nearest q as the memory: the store's candidateCount(256) coarse candidates —
// from the ANN index when it has one (COCO: ~590k rows, where a full scan per input would cost more than
// the decode; b1 ranks by Hamming distance on sign bits), else from the exact int8 scan — are re-scored
// exactly as scale·(q·row) with the float32 query, the best 256 kept and summed as their dequantised
// values scale·row. Truncating the softmax to the top 256 drops weights of at most exp((s₂₅₇ − s₁)/τ) each
// relative to the best row; DeCap's own 500k memory is mostly far from any one query, so the sum is
// dominated by the nearest rows, but the result is a top-k approximation of DeCap's full projection, not
// the same vector.
import { StudioError } from '@shared/errors'
import { dotI8 } from '../packs/datastore-format'
import type { CompactDatastore } from '../packs/datastore-reader'
import type { LoadedPack } from '../packs/pack'
import { matVecRows, normalize, softmax, vecMat, type Vec } from '../math/linalg'

/** DeCap's temperature: softmax(100·sim). */
export const MEMORY_TAU = 0.01
/** Rows of a compact datastore taken as the memory (its nearest neighbours to the query). */
export const MEMORY_NEIGHBOURS = 256

export interface MemoryInfo {
  /** Memory rows the projection was computed over. */
  rows: number
  tau: number
}

/** Projection over a row-major float32 memory [n, dim] (every row). */
export function projectDense(data: Float32Array, n: number, dim: number, q: Vec, tau = MEMORY_TAU): Vec {
  return normalize(vecMat(softmax(matVecRows(data, n, dim, q), tau), data, n, dim))
}

/** Projection over the `k` rows of a compact datastore nearest q; returns the vector and the rows used.
 *  The index ranks coarsely (b1: Hamming on sign bits), so store.candidateCount(k) candidates are fetched,
 *  re-scored exactly on their int8 rows and the best k kept, as retrieval does (searchCompact). */
export function projectCompact(store: CompactDatastore, q: Vec, k = MEMORY_NEIGHBOURS, tau = MEMORY_TAU): { vector: Vec; rows: number[] } {
  const dim = store.dim
  if (q.length !== dim) throw new StudioError('internal', `memory projection: query is ${q.length}-d, the datastore ${dim}-d`)
  const want = Math.min(k, store.rows)
  const fetched = store.candidates(q, Math.min(store.rows, Math.max(want, store.candidateCount(want))))
  const all = new Int8Array(fetched.length * dim)
  const scored = fetched.map((row, i) => {
    store.rowInto(row, all.subarray(i * dim, (i + 1) * dim))
    return { row, at: i, sim: store.scales[row]! * dotI8(q, all, i * dim, dim) }
  })
  scored.sort((a, b) => b.sim - a.sim || a.row - b.row)
  const kept = scored.slice(0, want)
  const w = softmax(kept.map((c) => c.sim), tau)
  const out = new Float32Array(dim)
  kept.forEach((c, i) => {
    const s = w[i]! * store.scales[c.row]!
    if (s === 0) return
    const off = c.at * dim
    for (let j = 0; j < dim; j++) out[j]! += s * all[off + j]!
  })
  return { vector: normalize(out), rows: kept.map((c) => c.row) }
}

/** The pack's memory projection of q (L2-normalised); `unsupported` when the pack has no datastore. */
export function projectOntoMemory(pack: LoadedPack, q: Vec): { vector: Vec; info: MemoryInfo } {
  if (q.length !== pack.json.embedDim) throw new StudioError('internal', `memory projection: query is ${q.length}-d, the pack ${pack.json.embedDim}-d`)
  const x = normalize(q)
  if (pack.compactDatastore) {
    const r = projectCompact(pack.compactDatastore, x)
    return { vector: r.vector, info: { rows: r.rows.length, tau: MEMORY_TAU } }
  }
  const ds = pack.datastore
  if (!ds) throw new StudioError('unsupported', `pack ${pack.json.id} has no caption datastore to project onto (memoryProjection needs one)`)
  return { vector: projectDense(ds.data, ds.rows, ds.cols, x), info: { rows: ds.rows, tau: MEMORY_TAU } }
}
