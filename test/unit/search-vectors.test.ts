// Library embeddings: int8 quantisation round trip, the exact top-k, and near-duplicate grouping on known data.
import { describe, expect, it } from 'vitest'
import { dequantize, int8View, normalized, quantize } from '../../src/main/search/quantize'
import { TopK, VectorSpace } from '../../src/main/search/vector-space'
import { componentsOf, hammingHex, pairBits, pairScores } from '../../src/main/search/grouping'
import { mulberry32 } from '../../src/main/engine/math/rng'

function randomUnit(rnd: () => number, dim: number): Float32Array {
  const x = new Float32Array(dim)
  for (let k = 0; k < dim; k++) x[k] = rnd() * 2 - 1
  return normalized(x)
}

function spaceOf(vectors: Float32Array[], ids = vectors.map((_, i) => i + 1)): VectorSpace {
  const dim = vectors[0]!.length
  const rows = new Int8Array(vectors.length * dim)
  const scales = new Float32Array(vectors.length)
  vectors.forEach((v, i) => {
    const q = quantize(v)
    rows.set(int8View(q.bytes), i * dim)
    scales[i] = q.scale
  })
  const s = new VectorSpace()
  s.add({ dim, ids, scales, rows })
  return s
}

describe('quantisation', () => {
  it('round-trips a unit 512-d vector within max|x|/254 per component, one byte per component', () => {
    const rnd = mulberry32(7)
    for (let t = 0; t < 20; t++) {
      const x = randomUnit(rnd, 512)
      const q = quantize(x)
      expect(q.bytes.length).toBe(512)
      const back = dequantize(q.scale, q.bytes)
      const max = Math.max(...x.map(Math.abs))
      for (let k = 0; k < 512; k++) expect(Math.abs(back[k]! - x[k]!)).toBeLessThanOrEqual(max / 254 + 1e-7)
      let dot = 0
      for (let k = 0; k < 512; k++) dot += back[k]! * x[k]!
      expect(dot / Math.hypot(...back)).toBeGreaterThan(0.999)
    }
  })

  it('keeps a zero vector zero and refuses non-finite components', () => {
    const q = quantize(new Float32Array(8))
    expect(q.scale).toBe(0)
    expect([...dequantize(q.scale, q.bytes)]).toEqual(new Array(8).fill(0))
    expect(() => quantize(Float32Array.of(1, Number.NaN))).toThrow(/not finite/)
    expect(() => quantize([])).toThrow(/at least one/)
  })
})

describe('exact search over int8 rows', () => {
  it('TopK keeps the k best, best first', () => {
    const t = new TopK(3)
    ;[5, 1, 9, 3, 7, 2].forEach((s, i) => t.push(i, s))
    expect(t.sorted()).toEqual([{ row: 2, score: 9 }, { row: 4, score: 7 }, { row: 0, score: 5 }])
  })

  it('ranks like float cosine, honours the filter, and answers "more like this" from the stored row', async () => {
    const rnd = mulberry32(3)
    const vs = Array.from({ length: 500 }, () => randomUnit(rnd, 64))
    const s = spaceOf(vs)
    const q = randomUnit(rnd, 64)
    const truth = vs.map((v, i) => ({ id: i + 1, cos: v.reduce((a, x, k) => a + x * q[k]!, 0) })).sort((a, b) => b.cos - a.cos)
    const hits = s.exact(q, 10)
    expect(hits.map((h) => h.id).slice(0, 5)).toEqual(truth.slice(0, 5).map((t) => t.id))
    hits.forEach((h) => expect(Math.abs(h.similarity - truth.find((t) => t.id === h.id)!.cos)).toBeLessThan(0.01))
    const even = s.exact(q, 10, (id) => id % 2 === 0)
    expect(even.every((h) => h.id % 2 === 0)).toBe(true)
    expect(even.map((h) => h.id)).toEqual(truth.filter((t) => t.id % 2 === 0).slice(0, 10).map((t) => t.id))
    const like = s.vector(42)!
    expect((await s.search(like, 1)).hits[0]!.id).toBe(42)
    expect(() => s.exact(new Float32Array(3), 1)).toThrow(/3-d query cannot search a 64-d space/)
  })

  it('an image embedded again is overwritten in place, not duplicated', () => {
    const rnd = mulberry32(5)
    const s = spaceOf([randomUnit(rnd, 16), randomUnit(rnd, 16)], [10, 20])
    const v = randomUnit(rnd, 16)
    const q = quantize(v)
    s.add({ dim: 16, ids: [10], scales: Float32Array.of(q.scale), rows: int8View(q.bytes) })
    expect(s.size).toBe(2)
    expect(s.exact(v, 1)[0]).toMatchObject({ id: 10 })
    expect(s.exact(v, 1)[0]!.similarity).toBeGreaterThan(0.999)
  })
})

describe('near-duplicate grouping', () => {
  it('components of the kept edges, largest first, ids sorted', () => {
    const edges = [
      { a: 5, b: 6, similarity: 0.99 },
      { a: 1, b: 2, similarity: 0.95 },
      { a: 2, b: 3, similarity: 0.93 },
      { a: 3, b: 9, similarity: 0.7 },
      { a: 7, b: 8, similarity: 0.5 }
    ]
    expect(componentsOf(edges, (e) => e.similarity >= 0.9)).toEqual([[1, 2, 3], [5, 6]])
    expect(componentsOf(edges)).toEqual([[1, 2, 3, 9], [5, 6], [7, 8]])
  })

  it('neighbours over a threshold find planted near-copies in random data', () => {
    const rnd = mulberry32(11)
    const base = Array.from({ length: 300 }, () => randomUnit(rnd, 128))
    // copies 300..329 of originals 0..29: small noise (cosine ≈ 0.99)
    const copies = base.slice(0, 30).map((v) => normalized(v.map((x) => x + (rnd() - 0.5) * 0.02)))
    const s = spaceOf([...base, ...copies])
    const edges = s.neighbours(0, s.size, 5, 0.9).flatMap((n) => n.near.map((o, i) => ({ a: s.idAt(n.row), b: s.idAt(o), similarity: n.sims[i]! })))
    const truth = Array.from({ length: 30 }, (_, i) => [i + 1, 301 + i])
    expect(pairScores(componentsOf(edges), truth)).toMatchObject({ precision: 1, recall: 1 })
  })

  it('hash distances: hex Hamming, and the least over whole and window hashes', () => {
    expect(hammingHex('0000000000000000', 'ffffffffffffffff')).toBe(64)
    expect(hammingHex('00000000000000f0', '0000000000000000')).toBe(4)
    const whole = '0000000000000000'
    const far = 'ffffffff00000000'
    // b's second window equals a's whole image: a cropped copy
    expect(pairBits(whole + far, far + 'ffff' + '0'.repeat(12) + whole)).toBe(0)
    expect(pairBits(whole, far)).toBe(32)
  })

  it('pair precision and recall count pairs inside groups', () => {
    expect(pairScores([[1, 2, 3]], [[1, 2], [3, 4]])).toEqual({ precision: 1 / 3, recall: 1 / 2, foundPairs: 3, truePairs: 2 })
  })
})

describe('grouping step budget', () => {
  it('sizes the next neighbour step from the time the last one took, within bounds', async () => {
    const { nextStep } = await import('../../src/main/search/library-search')
    // 256 rows in 5 ms: about 20 ms would take 1,024, but a step at most doubles
    expect(nextStep(256, 256, 5)).toBe(512)
    // 256 rows in 80 ms on a loaded machine: a quarter of that
    expect(nextStep(256, 256, 80)).toBe(64)
    // never below 16 rows, never above 1,024
    expect(nextStep(32, 32, 10_000)).toBe(16)
    expect(nextStep(1024, 1024, 0.1)).toBe(1024)
    // the last, shorter step says nothing about the step size
    expect(nextStep(256, 10, 500)).toBe(256)
  })
})
