// Any Node process (pure). CLIP-S, RefCLIP-S, aCLIP-S and RefaCLIP-S as functions of embeddings.
// [Note: CLIP-based scores] Following jmhessel/clipscore (methods.md §0.4), on L2-normalised embeddings:
//   CLIP-S(c, v)     = w · max(cos(v, c), 0), w = 2.5
//   RefCLIP-S(c, v)  = H(CLIP-S(c, v), max(0, max_r cos(c, r))), H(a, b) = 2ab/(a + b) (0 when a + b = 0)
//   aCLIP-S(c, v)    = CLIP-S with v replaced by normalize(v·W), W a realignment matrix (ReCap; methods.md §5
//                      leaves the exact definition NOT FOUND — this is the simplest reading, and W is a parameter)
//   RefaCLIP-S       = H(aCLIP-S, max(0, max_r cos(c, r)))
// The reference term is clipped at 0 too (clipscore does not clip it, but its CLIP cosines between captions
// are practically never negative; clipping keeps H well defined). Inputs need not be normalised: every
// function normalises. The "A photo depicts" prompt is a text-side choice made by the caller before encoding.
// This file is deliberately independent of the engine's ranking code (src/main/engine/math/scoring.ts): the
// evaluation must not share a bug with the thing it measures.

export type Embedding = ArrayLike<number>

export const CLIP_S_W = 2.5

export function cosine(a: Embedding, b: Embedding): number {
  if (a.length !== b.length) throw new Error(`embedding lengths differ: ${a.length} vs ${b.length}`)
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    ab += x * y
    aa += x * x
    bb += y * y
  }
  const d = Math.sqrt(aa) * Math.sqrt(bb)
  return d > 0 ? ab / d : 0
}

export function harmonicMean(a: number, b: number): number {
  return a + b > 0 ? (2 * a * b) / (a + b) : 0
}

/** Row vector times a d×d row-major matrix: (x·W)_j = Σ_i x_i W_ij. */
export function applyRealign(x: Embedding, w: ArrayLike<number>, dim = x.length): Float64Array {
  if (w.length !== dim * dim) throw new Error(`realignment matrix has ${w.length} entries, expected ${dim}×${dim}`)
  const out = new Float64Array(dim)
  for (let i = 0; i < dim; i++) {
    const xi = x[i]!
    if (xi === 0) continue
    const row = i * dim
    for (let j = 0; j < dim; j++) out[j] = out[j]! + xi * w[row + j]!
  }
  return out
}

export function clipS(image: Embedding, caption: Embedding, w = CLIP_S_W): number {
  return w * Math.max(cosine(image, caption), 0)
}

/** max(0, max_r cos(caption, r)); 0 without references. */
export function refTerm(caption: Embedding, refs: readonly Embedding[]): number {
  let best = 0
  for (const r of refs) best = Math.max(best, cosine(caption, r))
  return best
}

export function refClipS(image: Embedding, caption: Embedding, refs: readonly Embedding[], w = CLIP_S_W): number {
  return harmonicMean(clipS(image, caption, w), refTerm(caption, refs))
}

export function aClipS(image: Embedding, caption: Embedding, realign: ArrayLike<number>, w = CLIP_S_W): number {
  return clipS(applyRealign(image, realign), caption, w)
}

export function refAClipS(image: Embedding, caption: Embedding, refs: readonly Embedding[], realign: ArrayLike<number>, w = CLIP_S_W): number {
  return harmonicMean(aClipS(image, caption, realign, w), refTerm(caption, refs))
}
