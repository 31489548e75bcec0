import { describe, expect, it } from 'vitest'
import { analyzeGap, residualHistogram } from '../../src/main/engine/pipeline/gap'

describe('residual histogram of the modality gap', () => {
  it('bins every residual component over ±4σ of the zero-mean fit', () => {
    // Residuals are exactly +0.1 and -0.1 in equal numbers: σ (zero-mean fit) = 0.1, mean 0.
    const images = [Float32Array.from([0.1, -0.1]), Float32Array.from([-0.1, 0.1])]
    const texts = [Float32Array.from([0, 0]), Float32Array.from([0, 0])]
    const h = residualHistogram(images, texts, 8)
    expect(h.sigma).toBeCloseTo(0.1, 6)
    expect(h.mean).toBeCloseTo(0, 6)
    expect(h.edges).toHaveLength(9)
    expect(h.edges[0]).toBeCloseTo(-0.4, 6)
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(4)
    // Bin width 0.1: -0.1 falls in [-0.1, 0) = bin 3, +0.1 in [0.1, 0.2) = bin 5.
    expect(h.counts[3]).toBe(2)
    expect(h.counts[5]).toBe(2)
  })

  it('projects the gap vector into the PCA plane consistently with the point means', () => {
    const rnd = (i: number) => Math.sin(i * 12.9898) * 0.5
    const images = Array.from({ length: 20 }, (_, i) => Float32Array.from([1 + rnd(i), rnd(i + 1), 0.3 + rnd(i + 2)]))
    const texts = Array.from({ length: 20 }, (_, i) => Float32Array.from([rnd(i + 3), 1 + rnd(i + 4), rnd(i + 5)]))
    const g = analyzeGap(images, texts, [0])
    const mean = (pts: [number, number][], k: 0 | 1) => pts.reduce((s, p) => s + p[k], 0) / pts.length
    // Projection is linear, so mean(proj(images)) − mean(proj(texts)) = proj(gap).
    expect(mean(g.pca.image, 0) - mean(g.pca.text, 0)).toBeCloseTo(g.pca.gap[0], 5)
    expect(mean(g.pca.image, 1) - mean(g.pca.text, 1)).toBeCloseTo(g.pca.gap[1], 5)
  })
})
