// WAL checkpoint worker thread of the host (Electron main / serve / CLI), built to out/main/wal-checkpointer.js.
// [Note: checkpoints off the main thread] Opens the studio database a second time and copies the write-ahead
// log into the database file every `intervalMs` (a PASSIVE checkpoint: it never waits for, nor blocks, the
// writer or readers; frames in use by a reader are left for the next round). It writes no rows: the host's
// connection stays the one writer ([Note: one writer]); a checkpoint only moves committed pages.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

export interface CheckpointThreadData {
  file: string
  intervalMs: number
  nativeBinding?: string
}

/** What the thread reports after each checkpoint that moved frames (`frames`: newly copied). */
export interface CheckpointReport {
  type: 'checkpoint'
  frames: number
  ms: number
  busy: boolean
}

const data = workerData as CheckpointThreadData
const db = new Database(data.file, { fileMustExist: true, ...(data.nativeBinding ? { nativeBinding: data.nativeBinding } : {}) })
db.pragma('busy_timeout = 0')

/** Frames of the current log already reported (the log restarts from its start after a full checkpoint). */
let reported = 0
function checkpoint(): void {
  const t = performance.now()
  const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[]
  if (!r || r.checkpointed <= 0 || r.checkpointed === reported) return
  const frames = r.checkpointed > reported ? r.checkpointed - reported : r.checkpointed
  reported = r.checkpointed
  parentPort!.postMessage({ type: 'checkpoint', frames, ms: performance.now() - t, busy: r.busy !== 0 } satisfies CheckpointReport)
}

const timer = setInterval(checkpoint, data.intervalMs)
parentPort!.on('message', (m: { type: 'stop' }) => {
  if (m.type !== 'stop') return
  clearInterval(timer)
  try {
    checkpoint()
  } finally {
    db.close()
    parentPort!.close()
  }
})
