// Any process (plain TypeScript: main, serve, CLI, renderer). Coalescing: the first request starts a timer
// and requests made before it fires join it, so a burst of changes (a batch job writes one caption after
// another) costs one run. Unlike a debounce, a steady stream of requests still runs once per interval.
// The timer never keeps a Node process alive on its own.

export interface Coalescer {
  /** Run after `ms` (default: the coalescer's), unless a run is already pending (then this joins it). */
  request(ms?: number): void
  /** Drop the pending run, if any. */
  cancel(): void
}

export function coalesce(run: () => void, defaultMs: number): Coalescer {
  let timer: ReturnType<typeof setTimeout> | null = null
  return {
    request(ms = defaultMs) {
      if (timer !== null) return
      timer = setTimeout(() => {
        timer = null
        run()
      }, ms)
      ;(timer as { unref?: () => void }).unref?.()
    },
    cancel() {
      if (timer !== null) clearTimeout(timer)
      timer = null
    }
  }
}
