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

describe('noise and reproduction', () => {
  it('gives per-round ratio ranges and calls a loss slower only when ours lost every round', async () => {
    const { verdicts, clipTable } = await import('../../src/main/eval/bench/report')
    const { ratioWithSpread } = await import('../../src/main/eval/bench/stats')
    const s = (ips: number, rounds: number[]) => ({ n: 10, batch: 1, p50: 1, p95: 1, mean: 1, itemsPerSec: ips, rounds })
    expect(ratioWithSpread(s(90, [80, 100]), s(100, [100, 95]))).toEqual({ ratio: 0.9, low: 0.8, high: 100 / 95 })
    expect(ratioWithSpread(s(90, []), s(100, []))).toEqual({ ratio: 0.9, low: null, high: null })
    const row = (stage: string, impl: 'ours' | 'transformers.js', ips: number, rounds: number[]) => ({ pack: 'p@1', stage, impl, summary: s(ips, rounds) })
    const clip = {
      pack: 'p@1',
      rows: [row('a', 'ours', 95, [90, 105]), row('a', 'transformers.js', 100, [100, 100]), row('b', 'ours', 80, [80, 80]), row('b', 'transformers.js', 100, [100, 100])],
      pipelines: [],
      notes: [],
      hotspots: []
    }
    expect(verdicts(clip)).toEqual([
      'p@1, a: ours 95.0/s vs transformers.js 100/s → within noise (ours faster in some rounds) (0.95× (0.90–1.05))',
      'p@1, b: ours 80.0/s vs transformers.js 100/s → **slower** (0.80× (0.80–0.80))'
    ])
    expect(clipTable(clip)).toContain('| a | ours | 95.0 | 1.00 | 1.00 | 10 |  | 0.95× (0.90–1.05) |')
  })
  it('records ratios and compares them with the previous run', async () => {
    const { ratiosOf, compareRatios, parseRatioRecord } = await import('../../src/main/eval/bench/reproduce')
    const { benchMarkdown } = await import('../../src/main/eval/bench/report')
    const { machineInfo } = await import('../../src/main/eval/machine')
    const sum = (ips: number) => ({ n: 1, batch: 1, p50: 1, p95: 1, mean: 1, itemsPerSec: ips })
    const doc = {
      command: 'npm run bench',
      machine: machineInfo(process.cwd()),
      threads: 2,
      transformers: 't',
      clip: [{ pack: 'p@1', rows: [{ pack: 'p@1', stage: 'x', impl: 'raw session.run' as const, summary: sum(200) }, { pack: 'p@1', stage: 'x', impl: 'ours' as const, summary: sum(100) }], pipelines: [], notes: [], hotspots: [] }],
      skipped: [],
      findings: [],
      seconds: 1,
      sqlite: { autocommitRows: 1, autocommitRowsPerSec: 100, transactionRows: 1, transactionSize: 1, transactionRowsPerSec: 300 }
    }
    const now = ratiosOf(doc)
    expect(now).toEqual({ 'p@1 · x · ours ÷ raw': 0.5, 'SQLite · transactions ÷ autocommit': 3 })
    expect(parseRatioRecord('not json')).toBeNull()
    expect(parseRatioRecord('{"commit":1}')).toBeNull()
    const prev = parseRatioRecord(JSON.stringify({ commit: 'abc', date: 'd', command: 'c', ratios: { 'p@1 · x · ours ÷ raw': 0.4, gone: 1, bad: 'x' } }))!
    expect(prev.ratios).toEqual({ 'p@1 · x · ours ÷ raw': 0.4, gone: 1 })
    const rows = compareRatios(prev, now)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.change).toBeCloseTo(0.25, 9)
    expect(compareRatios(null, now)).toEqual([])
    const md = benchMarkdown({ ...doc, reproduction: { previous: prev, rows } })
    expect(md).toContain('| p@1 · x · ours ÷ raw | 0.40 | 0.50 | +25% |')
    expect(md).toContain('0 of 1 ratios moved by at most 10%')
  })
})
