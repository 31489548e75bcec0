// CLI bench (plain Node). How long the main event loop stalls while some work runs: the worst lateness of a
// 10 ms timer and perf_hooks.monitorEventLoopDelay's max and p99, around `work` (issue 14: never > 50 ms
// during import, indexing or grouping). Used by the import-at-scale and search parts.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { logStall } from './stall-log'

export interface LoopWatch<T> {
  value: T
  /** Worst lateness of the 10 ms timer, ms. */
  maxMs: number
  /** monitorEventLoopDelay's max, ms. */
  histMaxMs: number
  p99Ms: number
}

/** Worst lateness of a 10 ms timer, and the event-loop delay histogram, around `work`. */
export async function watchLoop<T>(work: () => Promise<T>, label = 'watch'): Promise<LoopWatch<T>> {
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  let last = performance.now()
  let maxMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxMs = Math.max(maxMs, now - last - 10)
    logStall(label, now - last - 10, 10)
    last = now
  }, 10)
  try {
    const value = await work()
    // the stall that ends with the work is counted too
    maxMs = Math.max(maxMs, performance.now() - last - 10)
    return { value, maxMs, histMaxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }
  } finally {
    clearInterval(timer)
    h.disable()
  }
}
