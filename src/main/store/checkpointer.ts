// Main process / serve / CLI (plain Node). Moves SQLite's WAL checkpoints off the host's main thread.
// [Note: checkpoints off the main thread] With the default wal_autocheckpoint, the commit that finds the log
// past 1,000 pages copies it into the database file and syncs it, on the thread that committed: measured here
// (5,000 transactions of one captioned image's rows, quiet machine) every ~155th commit took 5–7 ms instead of
// 0.05 ms, and 8–24 ms while the engine kept both cores busy — the last long stalls of a studio batch. The
// host's connection turns autocheckpoint off and a worker thread (checkpoint-thread.ts) checkpoints on its
// own connection every half second; the host thread only appends to the log. If that thread cannot start or
// dies, the host's connection checkpoints itself again (nothing grows without bound), and the reason is kept.
// journal_size_limit trims the log file after a burst of writes has been checkpointed.
// MEASURED, AND OFF BY DEFAULT: in the full bench (ext4, 2 cores) the thread's checkpoints took up to 708 ms
// (the fsyncs flush whatever else the host wrote meanwhile, e.g. thumbnails) and the host's main thread stalled
// 1,516 ms during a 5,000-image batch and 455 ms during the 50,000-file import while they ran — far worse than
// the 5–24 ms commits it was meant to remove. A commit on the host seems to wait for the other connection's
// sync (not established which lock or page). So hosts start it only with STUDIO_CHECKPOINT_THREAD=1.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { appRoot } from '../paths'
import { sqliteNativeBinding, type DB } from './db'
import type { CheckpointReport, CheckpointThreadData } from './checkpoint-thread'

const AUTOCHECKPOINT_PAGES = 1000
const JOURNAL_LIMIT_BYTES = 64 << 20

export const checkpointerPath = (): string => join(appRoot(), 'out', 'main', 'wal-checkpointer.js')

export interface CheckpointStats {
  /** Where checkpoints run now. */
  mode: 'thread' | 'connection'
  checkpoints: number
  frames: number
  maxMs: number
  /** Why the thread is not used (could not start, or stopped by an error). */
  reason?: string
}

export interface Checkpointer {
  stats(): CheckpointStats
  /** Final checkpoint in the thread, then the host's connection checkpoints itself again. */
  stop(): Promise<void>
}

/** Whether hosts use the checkpoint thread: only when STUDIO_CHECKPOINT_THREAD=1 ([Note: checkpoints off the
 *  main thread], measured: by default it made the host's stalls longer, not shorter). */
export const checkpointThreadWanted = (env: NodeJS.ProcessEnv = process.env): boolean => env.STUDIO_CHECKPOINT_THREAD === '1'

export function startCheckpointer(db: DB, o: { intervalMs?: number; entry?: string; enabled?: boolean } = {}): Checkpointer {
  const stats: CheckpointStats = { mode: 'connection', checkpoints: 0, frames: 0, maxMs: 0 }
  const fallBack = (reason: string) => {
    stats.mode = 'connection'
    stats.reason ??= reason
    if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
  }
  const entry = o.entry ?? checkpointerPath()
  const off = o.enabled === false
  if (off || db.memory || !existsSync(entry)) {
    stats.reason = off ? 'off (STUDIO_CHECKPOINT_THREAD=1 turns it on)' : db.memory ? 'in-memory database' : `${entry} is not built`
    return { stats: () => ({ ...stats }), stop: async () => undefined }
  }
  db.pragma(`journal_size_limit = ${JOURNAL_LIMIT_BYTES}`)
  let worker: Worker
  try {
    const binding = sqliteNativeBinding()
    const data: CheckpointThreadData = { file: db.name, intervalMs: o.intervalMs ?? 500, ...(binding ? { nativeBinding: binding } : {}) }
    worker = new Worker(entry, { workerData: data })
  } catch (err) {
    fallBack(`the checkpoint thread could not start: ${(err as Error).message}`)
    return { stats: () => ({ ...stats }), stop: async () => undefined }
  }
  db.pragma('wal_autocheckpoint = 0')
  stats.mode = 'thread'
  let stopping = false
  worker.unref()
  worker.on('message', (m: CheckpointReport) => {
    stats.checkpoints++
    stats.frames += m.frames
    stats.maxMs = Math.max(stats.maxMs, m.ms)
  })
  worker.on('error', (err) => fallBack(`the checkpoint thread failed: ${err.message}`))
  const exited = new Promise<void>((done) =>
    worker.on('exit', (code) => {
      if (!stopping) fallBack(`the checkpoint thread exited (code ${code})`)
      done()
    })
  )
  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (stopping) return exited
      stopping = true
      worker.postMessage({ type: 'stop' })
      const late = setTimeout(() => void worker.terminate(), 5_000)
      await exited
      clearTimeout(late)
      fallBack('stopped')
    }
  }
}

