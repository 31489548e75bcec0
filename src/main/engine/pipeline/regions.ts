// Engine worker / any Node process (pure). MacCap subregion aggregation (methods.md §3.2), two routes.
// [Note: subregion aggregation] Our decoders take one prefix vector, so the k MacCap subregion features are
// pooled into one before fusion:
//   route `patch`: T̂ = rows of token_embeds L2-normalised (CLS = row 0); a = attention row 0;
//     I = top-k indices of a (CLS may be among them, as in MacCap);
//     s_i = normalize(Σ_j softmax_j(A[i, j]) · T̂_j)   (MacCap's softmax of probabilities; `weighting: 'raw'`
//           uses A[i, j] / Σ_j A[i, j] instead);
//     s = normalize(Σ_{i∈I} (a_i / Σ_{I} a) · s_i);  f = normalize(g + w·s)   (w = patchWeight, 1.0).
//   Without an attention output (e.g. a plain HF CLIP export) the CLS attention is replaced by
//   softmax_j(cos(T̂_j, g) / 0.1) and s_i = T̂_i.
//   route `crops`: crop embeddings c_m (2×2 + 3×3 grids + a centre crop, one batched run);
//     α = softmax_m(cos(c_m, g) / τc) with τc = 0.1;  s = normalize(Σ α_m c_m);  f = normalize(g + w·s).
// Heatmaps: patch → per-patch weights Σ_{i∈I} (a_i/Σa)·w_ij on the patch grid (CLS excluded) plus the raw CLS
// attention; crops → boxes (fractions of the oriented image) with α.
import { StudioError } from '@shared/errors'
import { axpy, cosine, dot, normalize, softmax, topK, weightedSum, type Vec } from '../math/linalg'

export interface Box {
  x: number
  y: number
  w: number
  h: number
  label: string
}

export interface PatchHeatmap {
  kind: 'patch'
  grid: [number, number]
  /** Aggregation weight per patch (row-major grid, CLS excluded), sums to ≤ 1. */
  weights: number[]
  /** CLS attention per patch (row-major grid), as the model gave it. */
  attention: number[]
  /** Selected token indices (0 = CLS). */
  selected: number[]
  clsWeight: number
}

export interface CropsHeatmap {
  kind: 'crops'
  boxes: Box[]
  weights: number[]
}

export type Heatmap = PatchHeatmap | CropsHeatmap

export interface Aggregated {
  fused: Vec
  region: Vec
  heatmap: Heatmap
  /** Region features (normalised) in heatmap order: patches (no CLS) or crops. */
  features: Vec[]
}

export interface PatchInputs {
  global: Vec
  /** Normalised token features, CLS first. */
  tokens: Vec[]
  /** Row-major [T, T] attention, or null when the model has no attention output. */
  attention: Float32Array | null
  grid: [number, number]
}

export function aggregatePatches(inp: PatchInputs, opts: { topK: number; weight: number; weighting?: 'softmax' | 'raw' }): Aggregated {
  const T = inp.tokens.length
  const [gh, gw] = inp.grid
  if (T !== gh * gw + 1) throw new StudioError('model_error', `token count ${T} does not match patch grid ${gh}×${gw} + CLS`)
  const dim = inp.global.length
  const A = inp.attention
  if (A && A.length !== T * T) throw new StudioError('model_error', `attention has ${A.length} values, expected ${T}×${T}`)
  const cls = A ? Array.from(A.subarray(0, T)) : softmax(inp.tokens.map((t) => dot(t, inp.global)), 0.1)
  const sel = topK(cls, opts.topK)
  const selSum = sel.reduce((s, i) => s + cls[i]!, 0) || 1
  const perToken = new Float64Array(T)
  const subs: Vec[] = []
  const alphas: number[] = []
  for (const i of sel) {
    const alpha = cls[i]! / selSum
    let w: number[]
    if (!A) {
      w = Array.from({ length: T }, (_, j) => (j === i ? 1 : 0))
    } else if ((opts.weighting ?? 'softmax') === 'softmax') {
      w = softmax(A.subarray(i * T, (i + 1) * T))
    } else {
      const r = A.subarray(i * T, (i + 1) * T)
      const s = r.reduce((x, y) => x + y, 0) || 1
      w = Array.from(r, (x) => x / s)
    }
    w.forEach((x, j) => (perToken[j]! += alpha * x))
    subs.push(normalize(weightedSum(inp.tokens, w, dim)))
    alphas.push(alpha)
  }
  const region = normalize(weightedSum(subs, alphas, dim))
  const fused = normalize(axpy(inp.global, region, opts.weight))
  return {
    fused,
    region,
    features: inp.tokens.slice(1),
    heatmap: {
      kind: 'patch',
      grid: [gh, gw],
      weights: Array.from(perToken.subarray(1)),
      attention: cls.slice(1),
      selected: sel,
      clsWeight: perToken[0]!
    }
  }
}

/** 2×2 and 3×3 grids plus a centre crop, as fractions of the image. */
export function cropBoxes(): Box[] {
  const boxes: Box[] = []
  for (const n of [2, 3]) {
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) boxes.push({ x: c / n, y: r / n, w: 1 / n, h: 1 / n, label: `${n}x${n}:${r},${c}` })
  }
  boxes.push({ x: 0.25, y: 0.25, w: 0.5, h: 0.5, label: 'centre' })
  return boxes
}

export function aggregateCrops(global: Vec, crops: Vec[], boxes: Box[], opts: { weight: number; tau?: number }): Aggregated {
  if (crops.length !== boxes.length || crops.length === 0) throw new StudioError('internal', 'crop embeddings and boxes differ in count')
  const alpha = softmax(crops.map((c) => dot(c, global)), opts.tau ?? 0.1)
  const region = normalize(weightedSum(crops, alpha, global.length))
  const fused = normalize(axpy(global, region, opts.weight))
  return { fused, region, features: crops, heatmap: { kind: 'crops', boxes, weights: alpha } }
}

/** Similarity of each region feature to a caption embedding (normalised), in heatmap order. */
export function regionSimilarity(features: readonly Vec[], text: Vec): number[] {
  return features.map((f) => cosine(f, text))
}
