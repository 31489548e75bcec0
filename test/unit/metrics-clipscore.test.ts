// Unit tests (Node): CLIP-S, RefCLIP-S, aCLIP-S and RefaCLIP-S on hand-made 2-D embeddings.
import { describe, expect, it } from 'vitest'
import { aClipS, applyRealign, clipS, cosine, harmonicMean, refAClipS, refClipS, refTerm } from '../../src/main/eval/metrics'

describe('CLIP-S family (w = 2.5)', () => {
  const img = [2, 0] // not normalised on purpose: cos is scale-free
  const cand = [0.6, 0.8]

  it('CLIP-S = 2.5 · max(cos, 0)', () => {
    // cos([1,0], [0.6,0.8]) = 0.6 → 2.5 · 0.6 = 1.5
    expect(clipS(img, cand)).toBeCloseTo(1.5, 12)
    // opposite direction: cos = −1 → clipped to 0
    expect(clipS(img, [-1, 0])).toBe(0)
    expect(clipS(img, cand, 1)).toBeCloseTo(0.6, 12)
  })

  it('RefCLIP-S is the harmonic mean of CLIP-S and the best reference cosine', () => {
    // refs [0,1] (cos 0.8) and [1,0] (cos 0.6) → b = 0.8; a = 1.5 → 2·1.5·0.8/(1.5+0.8) = 2.4/2.3
    expect(refTerm(cand, [[0, 1], [1, 0]])).toBeCloseTo(0.8, 12)
    expect(refClipS(img, cand, [[0, 1], [1, 0]])).toBeCloseTo(2.4 / 2.3, 12)
    // no positive reference similarity → b = 0 → H = 0
    expect(refClipS(img, cand, [[-0.6, -0.8]])).toBe(0)
    expect(harmonicMean(0, 0)).toBe(0)
  })

  it('aCLIP-S applies the realignment to the image side as a row vector times W', () => {
    // W (row-major) = [[0, 1], [−1, 0]]: [1,0]·W = [0, 1] → cos with [0.6,0.8] = 0.8 → 2.5·0.8 = 2.0
    const W = [0, 1, -1, 0]
    expect(Array.from(applyRealign([1, 0], W))).toEqual([0, 1])
    expect(Array.from(applyRealign([0, 1], W))).toEqual([-1, 0])
    expect(aClipS(img, cand, W)).toBeCloseTo(2.0, 12)
    // RefaCLIP-S with the [0,1] ref: H(2.0, 0.8) = 3.2/2.8
    expect(refAClipS(img, cand, [[0, 1]], W)).toBeCloseTo(3.2 / 2.8, 12)
    // identity W gives back CLIP-S
    expect(aClipS(img, cand, [1, 0, 0, 1])).toBeCloseTo(clipS(img, cand), 12)
  })

  it('refuses mismatched dimensions', () => {
    expect(() => cosine([1, 0], [1, 0, 0])).toThrow(/lengths differ/)
    expect(() => applyRealign([1, 0], [1, 0, 0])).toThrow(/2×2/)
  })
})
