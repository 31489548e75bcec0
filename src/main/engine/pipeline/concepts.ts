// Engine worker / any Node process (pure). PCM-Net at inference: salient concepts and patch-wise
// cross-modal mix-up (methods.md §4.2–4.3).
// [Note: mix-up at inference] PCM-Net concatenates textual patches to the visual ones inside its encoder;
// our decoders take a single prefix vector, so the mix-up is applied to the region features *before*
// aggregation (regions.ts). With region features r_j (normalised) and the K salient concepts c_k:
//   a_jk = cos(r_j, c_k);  t_j = Σ_k softmax_k(a_jk / τ) · c_k                     (τ = 0.01)
//   selected = regions owning one of the top-M entries of softmax over all (j, k) of a_jk / τ   (M = 5)
//   r'_j = normalize((1 − λ)·r_j + λ·t_j) for selected j (λ = 0.5), r'_j = r_j otherwise.
// Since softmax is monotone, "top-M of the softmax" is the top-M of a_jk.
import { dot, normalize, softmax, topK, type Vec } from '../math/linalg'
import type { Concept, Matrix } from '../packs/pack'

export interface SalientConcept {
  word: string
  category: string
  index: number
  prob: number
  cos: number
}

export function salientConcepts(image: Vec, concepts: Matrix, list: readonly Concept[], tau = 0.01, k = 5): SalientConcept[] {
  const cos = new Float32Array(concepts.rows)
  for (let i = 0; i < concepts.rows; i++) cos[i] = dot(image, concepts.data.subarray(i * concepts.cols, (i + 1) * concepts.cols))
  const p = softmax(cos, tau)
  return topK(p, k).map((i) => ({ word: list[i]?.word ?? String(i), category: list[i]?.category ?? '', index: i, prob: p[i]!, cos: cos[i]! }))
}

export interface MixupResult {
  features: Vec[]
  /** Indices (into the region list) that were mixed, with the concept each leaned on most. */
  mixed: { region: number; concept: number }[]
}

export function mixupRegions(regions: readonly Vec[], conceptVecs: readonly Vec[], opts: { tau?: number; topM?: number; lambda?: number } = {}): MixupResult {
  const tau = opts.tau ?? 0.01
  const m = opts.topM ?? 5
  const lambda = opts.lambda ?? 0.5
  if (conceptVecs.length === 0 || regions.length === 0) return { features: [...regions], mixed: [] }
  const K = conceptVecs.length
  const aff = new Float32Array(regions.length * K)
  regions.forEach((r, j) => conceptVecs.forEach((c, k) => (aff[j * K + k] = dot(r, c))))
  const selected = new Set(topK(aff, m).map((e) => Math.floor(e / K)))
  const mixed: MixupResult['mixed'] = []
  const features = regions.map((r, j) => {
    if (!selected.has(j)) return r
    const w = softmax(aff.subarray(j * K, (j + 1) * K), tau)
    const out = new Float32Array(r.length)
    for (let k = 0; k < K; k++) {
      const c = conceptVecs[k]!
      const wk = w[k]! * lambda
      for (let d = 0; d < r.length; d++) out[d]! += wk * c[d]!
    }
    for (let d = 0; d < r.length; d++) out[d]! += (1 - lambda) * r[d]!
    mixed.push({ region: j, concept: topK(w, 1)[0]! })
    return normalize(out)
  })
  return { features, mixed }
}
