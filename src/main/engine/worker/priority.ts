// Engine process / engine worker thread (plain Node). Runs inference at a lower scheduling priority than the
// host, so the host's event loop (Electron main, serve) is never kept waiting for a core by ONNX Runtime.
// [Note: engine niceness] On 2 cores the engine's ONNX Runtime threads kept both cores busy during a batch, and
// every bit of host work (a transaction, a scavenge of the young generation, a message from the engine) waited
// for a time slice: the bench found scavenges of a 12 MB young generation taking 30–40 ms of wall time on the
// host thread and the longest stall of a 5,000-image batch at 59 ms. Lowering the engine's priority (nice +10
// by default) lets the host preempt inference whenever it has work; when the host is idle the engine still
// gets every core. Measured (docs/benchmarks.md follow-up): the batch's longest stall ≤ 50 ms in every +10 run;
// studio ÷ in-process varied by ±0.2 between runs of one setting, so no throughput effect is established.
// Linux keeps a nice value per thread and a new thread inherits its creator's, so calling this in the engine's
// thread before any session exists lowers that thread and every ONNX Runtime and sharp thread it creates —
// and nothing else, even when the engine is a worker thread inside the host process. Elsewhere (macOS,
// Windows) the priority belongs to the whole process: it is lowered only when the engine is its own process
// (a child process or an Electron utility process), never from a worker thread, which would lower the host too.
import { getPriority, setPriority } from 'node:os'
import { isMainThread } from 'node:worker_threads'

export interface PriorityOutcome {
  /** The nice value the engine runs at now, or null when it was left alone. */
  niceness: number | null
  note?: string
}

/** Lower this engine's priority by `niceness` (relative to what it has now; never raises it). */
export function lowerEnginePriority(niceness: number, platform: NodeJS.Platform = process.platform, mainThread = isMainThread): PriorityOutcome {
  if (niceness <= 0) return { niceness: null, note: 'engine priority left as the host’s' }
  if (platform !== 'linux' && !mainThread) return { niceness: null, note: `a worker thread cannot lower its own priority on ${platform} without lowering the host's` }
  try {
    const now = getPriority(0)
    const target = Math.min(19, now + niceness)
    setPriority(0, target)
    return { niceness: getPriority(0) }
  } catch (err) {
    return { niceness: null, note: `could not lower the engine's priority: ${(err as Error).message}` }
  }
}
