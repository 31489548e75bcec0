// Any Node process. Timing helpers for the benchmarks: repeated measurement with warm-up, percentiles,
// throughput. [Note: measuring] Each measurement runs `warmup` untimed calls, then timed calls until both
// `minIters` calls and `minSeconds` have passed (or `maxIters`). Latency is per call (one batch); throughput
// is items per second over the whole timed span. Percentiles use the nearest-rank method on sorted samples.

export interface Summary {
  n: number
  batch: number
  p50: number
  p95: number
  mean: number
  /** Items (images or texts) per second: n·batch / total timed seconds. */
  itemsPerSec: number
  /** measureInterleaved: items per second in each round, so ratios between implementations can be given per
   *  round (their spread is this run's noise). */
  rounds?: number[]
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function summarize(latenciesMs: readonly number[], batch: number, totalMs = latenciesMs.reduce((a, b) => a + b, 0)): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b)
  return {
    n: sorted.length,
    batch,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    mean: sorted.length ? totalMs / sorted.length : NaN,
    itemsPerSec: totalMs > 0 ? (sorted.length * batch * 1000) / totalMs : NaN
  }
}

export interface MeasureOptions {
  warmup?: number
  minIters?: number
  minSeconds?: number
  maxIters?: number
  /** measureInterleaved only: alternating rounds (default 3). */
  rounds?: number
}

/** Calls fn(i) repeatedly; i counts every call including warm-up, so callers can vary inputs. */
export async function measure(batch: number, fn: (i: number) => Promise<unknown>, o: MeasureOptions = {}): Promise<Summary> {
  const warmup = o.warmup ?? 2
  const minIters = o.minIters ?? 5
  const minMs = (o.minSeconds ?? 2) * 1000
  const maxIters = o.maxIters ?? 10_000
  let i = 0
  for (; i < warmup; i++) await fn(i)
  const lat: number[] = []
  const start = performance.now()
  while (lat.length < maxIters && (lat.length < minIters || performance.now() - start < minMs)) {
    const t = performance.now()
    await fn(i++)
    lat.push(performance.now() - t)
  }
  return summarize(lat, batch, performance.now() - start)
}

/**
 * Measures several implementations of the same stage in alternating rounds (A B C A B C …), so that a burst
 * of load from other processes on a shared machine hits all of them alike instead of skewing one row.
 * Each implementation gets `rounds` slices of minSeconds/rounds; latencies and time are pooled per name.
 */
export async function measureInterleaved(
  batch: number,
  fns: Record<string, (i: number) => Promise<unknown>>,
  o: MeasureOptions = {}
): Promise<Record<string, Summary>> {
  const rounds = o.rounds ?? 3
  const names = Object.keys(fns)
  const lat = new Map<string, number[]>(names.map((n) => [n, []]))
  const total = new Map<string, number>(names.map((n) => [n, 0]))
  const calls = new Map<string, number>(names.map((n) => [n, 0]))
  const perRound = new Map<string, number[]>(names.map((n) => [n, []]))
  const sliceMs = ((o.minSeconds ?? 2) * 1000) / rounds
  const minPerSlice = Math.max(1, Math.ceil((o.minIters ?? 5) / rounds))
  for (const n of names) {
    for (let w = 0; w < (o.warmup ?? 2); w++) {
      const i = calls.get(n)!
      calls.set(n, i + 1)
      await fns[n]!(i)
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const fn = fns[n]!
      const list = lat.get(n)!
      const start = performance.now()
      let k = 0
      while (k < minPerSlice || performance.now() - start < sliceMs) {
        const i = calls.get(n)!
        calls.set(n, i + 1)
        const t = performance.now()
        await fn(i)
        list.push(performance.now() - t)
        k++
        if (list.length >= (o.maxIters ?? 10_000)) break
      }
      const spent = performance.now() - start
      total.set(n, total.get(n)! + spent)
      perRound.get(n)!.push((k * batch * 1000) / spent)
    }
  }
  return Object.fromEntries(names.map((n) => [n, { ...summarize(lat.get(n)!, batch, total.get(n)!), rounds: perRound.get(n)! }]))
}

/** Ratio a ÷ b of pooled throughput, with the range of the per-round ratios (null without rounds). */
export function ratioWithSpread(a: Summary, b: Summary): { ratio: number; low: number | null; high: number | null } {
  const ratio = a.itemsPerSec / b.itemsPerSec
  const ra = a.rounds ?? []
  const rb = b.rounds ?? []
  if (ra.length === 0 || ra.length !== rb.length) return { ratio, low: null, high: null }
  const per = ra.map((x, i) => x / rb[i]!).filter(Number.isFinite)
  return per.length ? { ratio, low: Math.min(...per), high: Math.max(...per) } : { ratio, low: null, high: null }
}
