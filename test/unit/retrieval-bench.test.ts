// Unit tests (Node): the helpers behind the retrieval bench's figures: the streamed exact top-k (the recall
// reference), recall@k, float16 rounding, the synthetic datastore's geometry, and the report's verdicts.
import { describe, expect, it } from 'vitest'
import { CAPTIONS_PER_IMAGE, ExactTopK, recallAtK, syntheticQueries, syntheticRows, syntheticWorld } from '../../src/main/eval/bench/synthetic-embeddings'
import { f16round } from '../../src/main/eval/bench/retrieval-bench'
import { retrievalVerdicts } from '../../src/main/eval/bench/retrieval-report'
import type { RetrievalBench } from '../../src/main/eval/bench/retrieval-bench'
import { mulberry32 } from '../../src/main/engine/math/rng'

const dot = (a: Float32Array, ao: number, b: Float32Array, bo: number, d: number) => {
  let s = 0
  for (let k = 0; k < d; k++) s += a[ao + k]! * b[bo + k]!
  return s
}

describe('ExactTopK', () => {
  it('equals a full sort, over uneven chunks, odd row and query counts', () => {
    const d = 6
    const r = mulberry32(9)
    const rows = Float32Array.from({ length: 37 * d }, () => r() - 0.5)
    const queries = Float32Array.from({ length: 5 * d }, () => r() - 0.5)
    const t = new ExactTopK(queries, d, 4)
    for (const [a, b] of [[0, 3], [3, 20], [20, 21], [21, 37]] as const) t.add(rows.slice(a * d, b * d))
    const want = Array.from({ length: 5 }, (_, q) =>
      Array.from({ length: 37 }, (_, i) => i)
        .sort((x, y) => dot(queries, q * d, rows, y * d, d) - dot(queries, q * d, rows, x * d, d))
        .slice(0, 4)
    )
    expect(t.result()).toEqual(want)
  })

  it('recall@k counts shared rows, whatever their order', () => {
    expect(recallAtK([[1, 2, 3, 4]], [[4, 3, 9, 1]], 4)).toBe(0.75)
    expect(recallAtK([[1, 2], [5, 6]], [[1, 2], []], 2)).toBe(0.5)
  })
})

describe('f16round', () => {
  it('rounds to the float16 grid', () => {
    expect(f16round(1)).toBe(1)
    expect(f16round(1 + 2 ** -12)).toBe(1)
    expect(f16round(0.1)).toBeCloseTo(0.0999755859375, 12) // the float16 nearest 0.1
    expect(f16round(-3e-6)).toBeCloseTo(-50 * 2 ** -24, 15) // subnormal grid
    expect(f16round(0)).toBe(0)
  })
})

describe('synthetic datastore', () => {
  it('is unit-norm and clustered: same-image captions closer than same-topic or random ones', () => {
    const d = 256
    const w = syntheticWorld(d, 20, 1)
    const rows = syntheticRows(w, 0, 200)
    const n = rows.length / d
    for (let i = 0; i < n; i += 37) expect(dot(rows, i * d, rows, i * d, d)).toBeCloseTo(1, 5)
    let same = 0
    let other = 0
    for (let img = 0; img < 200; img++) {
      same += dot(rows, img * CAPTIONS_PER_IMAGE * d, rows, (img * CAPTIONS_PER_IMAGE + 2) * d, d)
      other += dot(rows, img * CAPTIONS_PER_IMAGE * d, rows, (((img + 101) % 200) * CAPTIONS_PER_IMAGE + 2) * d, d)
    }
    // same image ≈ 0.85 (a near-copy makes it higher); different images ≈ 0.45–0.70 by topic
    expect(same / 200).toBeGreaterThan(0.8)
    expect(other / 200).toBeLessThan(0.6)
    expect(other / 200).toBeGreaterThan(0.4)
    // slices are the same rows whatever else is generated
    expect(syntheticRows(w, 50, 51)).toEqual(rows.slice(50 * CAPTIONS_PER_IMAGE * d, 51 * CAPTIONS_PER_IMAGE * d))
    expect(syntheticQueries(w, 200, 3, 4)).toEqual(syntheticQueries(w, 200, 3, 4))
  })
})

describe('retrieval verdicts', () => {
  it('compares p50, recall and the RSS delta with the targets', () => {
    const row = { expansionSearch: 64, candidates: 200, p50: 2, p95: 5, recall: 0.97 }
    const bench = { rows: 590_000, dim: 512, child: { chosen: row, rssBaseMB: 70, rssAfterSoakMB: 520, soakQueries: 2000 } } as unknown as RetrievalBench
    const [v] = retrievalVerdicts(bench)
    expect(v).toContain('p50 2.00 ms per query (target ≤ 10) → met')
    expect(v).toContain('recall@10 0.970 (≥ 0.95) → met')
    expect(v).toContain('450 MB after 2,000 further queries (≤ 400) → **not met**')
  })
})
