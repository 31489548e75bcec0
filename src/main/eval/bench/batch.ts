// Main process code paths (plain Node; the engine in its own child process). A studio batch as a user runs it —
// library scan, then a caption job over the whole root through the job runner and the engine worker — with
// the main thread's event-loop delay (perf_hooks.monitorEventLoopDelay) and the process's resident memory
// sampled throughout. For contrast, the same pipeline called in-process on the main thread.
// [Note: RSS] The engine runs in a child process ([Note: crash isolation]), so each sample adds the
// engine process's resident memory (/proc/<pid>/status VmRSS, Linux) to the host's: host, engine, ONNX
// Runtime and sharp together, as when the engine was a worker thread. Samples are taken every `sampleMs`
// by a timer on the main thread.
import { benchProvider } from './raw-ort'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { readFileSync, rmSync } from 'node:fs'
import { EngineClient, engineNiceness } from '../../engine/client'
import { captionFiles, Engine } from '../../engine/worker'
import { createServices } from '../../services/services'
import { logStall } from './stall-log'
import type { CheckpointStats } from '../../store/checkpointer'

export interface RssSample {
  seconds: number
  rssMiB: number
  done: number
}

export interface BatchBench {
  images: number
  done: number
  failed: number
  seconds: number
  imagesPerSec: number
  loopMaxMs: number
  loopP99Ms: number
  loopMeanMs: number
  /** Share of the batch's wall time the main thread spent running JS or native work rather than idle in
   *  the event loop (performance.eventLoopUtilization): what is left for the UI and the API. */
  loopUtilization: number
  rss: RssSample[]
  scanSeconds: number
  /** Mean of the engine's own total time per image (job item results): wall time per image minus this is
   *  what the studio adds around the engine (worker messages, pack lookup, SQLite writes, events). */
  engineMsPerImage: number | null
  /** The longest stalls seen by a 20 ms timer: when (s since the job started), how long, images done. */
  stalls: { seconds: number; ms: number; done: number }[]
  /** [Note: engine niceness] how much lower than the host the engine ran. */
  engineNiceness?: number
  /** [Note: checkpoints off the main thread] where SQLite's checkpoints ran during the batch. */
  checkpoints?: CheckpointStats
}

/** Resident memory of another process in MiB (0 where /proc is not there or the process is gone). */
function rssOf(pid: number | null): number {
  if (pid === null) return 0
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) / 1024 : 0
  } catch {
    return 0
  }
}

export async function benchStudioBatch(imagesDir: string, scratch: string, bundledPacksDir: string, packId: string, log: (l: string) => void, sampleMs = 500): Promise<BatchBench> {
  rmSync(scratch, { recursive: true, force: true })
  const engine = new EngineClient()
  const services = createServices(join(scratch, 'data'), 'cli', { bundledPacksDir, engine })
  const mib = () => process.memoryUsage().rss / 2 ** 20 + rssOf(engine.health().pid)
  try {
    let t = performance.now()
    const root = (await services.call('library.addRoot', { path: imagesDir })) as { id: number }
    await services.call('library.waitForScans', {})
    const scanSeconds = (performance.now() - t) / 1000
    await services.call('models.activate', { id: packId })
    const h = monitorEventLoopDelay({ resolution: 10 })
    const rss: RssSample[] = []
    let done = 0
    const unsubscribe = services.ctx.subscribe((e) => {
      if (e.type === 'job.progress') done = e.done
    })
    t = performance.now()
    rss.push({ seconds: 0, rssMiB: mib(), done: 0 })
    const timer = setInterval(() => rss.push({ seconds: (performance.now() - t) / 1000, rssMiB: mib(), done }), sampleMs)
    // A second, finer timer notes when the big stalls happen (the histogram only says how long).
    const stalls: BatchBench['stalls'] = []
    let last = performance.now()
    const probe = setInterval(() => {
      const now = performance.now()
      const late = now - last - 20
      last = now
      if (late > 30) stalls.push({ seconds: (now - t) / 1000, ms: late, done })
      logStall('batch', late, 20)
    }, 20)
    h.enable()
    const elu = performance.eventLoopUtilization()
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'root', rootId: root.id }, onlyUncaptioned: false })) as { id: number; total: number }
    log(`studio batch: job ${job.id}, ${job.total} images`)
    await services.call('jobs.waitIdle', {})
    const seconds = (performance.now() - t) / 1000
    const loopUtilization = performance.eventLoopUtilization(elu).utilization
    h.disable()
    clearInterval(timer)
    clearInterval(probe)
    unsubscribe()
    rss.push({ seconds, rssMiB: mib(), done: job.total })
    const final = (await services.call('jobs.get', { jobId: job.id })) as { job: { done: number; failed: number; total: number } }
    const ms = (services.ctx.db.prepare(`SELECT result FROM job_items WHERE job_id = ? AND state = 'done'`).all(job.id) as { result: string | null }[])
      .map((r) => (r.result ? (JSON.parse(r.result) as { ms?: unknown }).ms : undefined))
      .filter((x): x is number => typeof x === 'number')
    return {
      images: final.job.total,
      done: final.job.done,
      failed: final.job.failed,
      seconds,
      imagesPerSec: final.job.done / seconds,
      loopMaxMs: h.max / 1e6,
      loopP99Ms: h.percentile(99) / 1e6,
      loopMeanMs: h.mean / 1e6,
      loopUtilization,
      rss,
      scanSeconds,
      engineMsPerImage: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : null,
      stalls: stalls.sort((a, b) => b.ms - a.ms).slice(0, 5),
      engineNiceness: engineNiceness(),
      checkpoints: services.ctx.checkpoints.stats()
    }
  } finally {
    await services.close()
    rmSync(scratch, { recursive: true, force: true })
  }
}

export interface InProcessBench {
  images: number
  loopMaxMs: number
  loopP99Ms: number
  loopUtilization: number
  imagesPerSec: number
}

/** The same pipeline on the main thread (what the worker avoids): event-loop delay while captioning. */
export async function benchInProcessStall(packDir: string, files: readonly string[], threads: number): Promise<InProcessBench> {
  const engine = await Engine.open(packDir, { providers: [benchProvider()], intraOpThreads: threads })
  try {
    await engine.warm()
    const h = monitorEventLoopDelay({ resolution: 10 })
    h.enable()
    const elu = performance.eventLoopUtilization()
    const t = performance.now()
    await captionFiles(engine, files.map((file) => ({ file })), {})
    const s = (performance.now() - t) / 1000
    const loopUtilization = performance.eventLoopUtilization(elu).utilization
    h.disable()
    return { images: files.length, loopMaxMs: h.max / 1e6, loopP99Ms: h.percentile(99) / 1e6, loopUtilization, imagesPerSec: files.length / s }
  } finally {
    await engine.close()
  }
}
