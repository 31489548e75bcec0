// The fleet bench's arithmetic (eval/bench/fleet.ts): pooled rate ratios over alternating rounds, and the
// per-image overhead of the queue, from given per-round rates.
import { describe, expect, it } from 'vitest'
import { fleetFindings, pooledRatio } from '../../src/main/eval/bench/fleet'

describe('fleet bench', () => {
  it('pools rates over rounds by total time and keeps the per-round range', () => {
    // round 1: 10 vs 20 images/s, round 2: 20 vs 20 → time 0.1 + 0.05 vs 0.05 + 0.05
    const r = pooledRatio([10, 20], [20, 20])
    expect(r.ratio).toBeCloseTo(0.1 / 0.15, 10)
    expect(r.low).toBe(0.5)
    expect(r.high).toBe(1)
  })

  it('reports the 2 ÷ 1 worker ratio and the queue overhead per image', () => {
    const lines = fleetFindings({ images: 100, rounds: 2, local: [50, 50], fleet1: [40, 40], fleet2: [70, 74] }, 'p@1')
    expect(lines[0]).toMatch(/1 worker 40\.0 images\/s, 2 workers 71\.9 images\/s → 2 ÷ 1 workers 1\.80× \(per round 1\.75–1\.85\)/)
    // 1000/40 − 1000/50 = 5 ms per image
    expect(lines[1]).toMatch(/fleet ÷ local 0\.80× .*\+5\.0 ms per image/)
  })
})
