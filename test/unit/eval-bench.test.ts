// Unit tests (Node): benchmark statistics and the SVG chart. Latencies are given, never measured here.
import { describe, expect, it } from 'vitest'
import { percentile, summarize, measure } from '../../src/main/eval/bench/stats'
import { lineChartSvg, tickStep } from '../../src/main/eval/bench/svg'
import { syntheticTexts } from '../../src/main/eval/bench/clip-bench'

describe('bench statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    // p50: rank ceil(0.5·10) = 5 → 5; p95: rank ceil(9.5) = 10 → 10; p10: rank 1 → 1
    expect(percentile(s, 50)).toBe(5)
    expect(percentile(s, 95)).toBe(10)
    expect(percentile(s, 10)).toBe(1)
    expect(percentile([], 50)).toBeNaN()
  })
  it('derives throughput from batch size and total time', () => {
    // 4 calls of batch 8 in 200 ms total → 32 items / 0.2 s = 160 items/s
    const r = summarize([40, 60, 50, 50], 8, 200)
    expect(r.itemsPerSec).toBeCloseTo(160, 10)
    expect(r.p50).toBe(50)
    expect(r.p95).toBe(60)
    expect(r.mean).toBe(50)
  })
  it('runs warm-up calls untimed and at least minIters timed calls', async () => {
    const seen: number[] = []
    const r = await measure(1, async (i) => void seen.push(i), { warmup: 3, minIters: 4, minSeconds: 0 })
    expect(r.n).toBe(4)
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6])
  })
})

describe('synthetic texts', () => {
  it('are unique, seeded, and 4–10 words long', () => {
    const a = syntheticTexts(['a', 'red', 'blue', 'square', 'circle'], 300)
    expect(new Set(a).size).toBe(300)
    expect(syntheticTexts(['a', 'red', 'blue', 'square', 'circle'], 300)).toEqual(a)
    for (const t of a) expect(t.split(' ').length).toBeGreaterThanOrEqual(4)
    for (const t of a) expect(t.split(' ').length).toBeLessThanOrEqual(10)
  })
})

describe('lineChartSvg', () => {
  it('picks 1-2-5 tick steps', () => {
    expect(tickStep(100, 5)).toBe(20)
    expect(tickStep(7, 5)).toBe(2)
    expect(tickStep(0.3, 5)).toBeCloseTo(0.1, 12)
  })
  it('draws one polyline per series with escaped labels, inside the canvas', () => {
    const svg = lineChartSvg([{ label: 'rss <MiB>', colour: '#c00', points: [{ x: 0, y: 100 }, { x: 10, y: 150 }, { x: 20, y: 140 }] }], { title: 'T', xLabel: 's', yLabel: 'MiB', width: 400, height: 200 })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('rss &lt;MiB&gt;')
    const pts = /points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number))
    expect(pts).toHaveLength(3)
    for (const [x, y] of pts) {
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThanOrEqual(400)
      expect(y).toBeGreaterThanOrEqual(0)
      expect(y).toBeLessThanOrEqual(200)
    }
    // the highest value is drawn highest (smallest y)
    expect(pts[1]![1]).toBeLessThan(pts[0]![1]!)
  })
})

describe('benchMarkdown', () => {
  it('states ratios and verdicts from the rows it is given', async () => {
    const { benchMarkdown, verdicts } = await import('../../src/main/eval/bench/report')
    const { machineInfo } = await import('../../src/main/eval/machine')
    const row = (stage: string, impl: 'raw session.run' | 'ours' | 'transformers.js', ips: number, p50: number) => ({ pack: 'p@1', stage, impl, summary: { n: 10, batch: 1, p50, p95: p50, mean: p50, itemsPerSec: ips } })
    const clip = {
      pack: 'p@1',
      rows: [row('text embedding (b=1)', 'raw session.run', 200, 5), row('text embedding (b=1)', 'ours', 100, 10), row('text embedding (b=1)', 'transformers.js', 50, 20)],
      pipelines: [],
      notes: [],
      hotspots: [{ what: 'x', aMs: 2, bMs: 0.5, perCaption: 10, unit: 'calls' }]
    }
    // ours ÷ raw = 100/200 = 0.50×, ours ÷ tjs = 100/50 = 2.00×; p50 overhead (10/5 − 1) = +100%
    expect(verdicts(clip)).toEqual([
      'p@1, text embedding (b=1): ours 100/s vs transformers.js 50.0/s → at least as fast (2.00×)',
      'p@1, text embedding (b=1): our p50 10.0 ms vs raw session.run 5.00 ms → overhead +100%'
    ])
    const md = benchMarkdown({ command: 'npm run bench', machine: machineInfo(process.cwd()), threads: 2, transformers: 't', clip: [clip], skipped: ['vit: why'], findings: [], seconds: 60 })
    expect(md).toContain('| text embedding (b=1) | ours | 100 | 10.0 | 10.0 | 10 | 0.50× | 2.00× |')
    expect(md).toContain('- skipped: vit: why')
    // hotspot: (2 − 0.5) ms × 10 calls = 15 ms per caption
    expect(md).toContain('→ 15 ms per caption spent on the difference')
  })
})
