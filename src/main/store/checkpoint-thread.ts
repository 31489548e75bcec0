// WAL checkpoint worker thread of the host (Electron main / serve / CLI), built to out/main/wal-checkpointer.js.
// [Note: checkpoints off the main thread] Opens the studio database a second time and copies the write-ahead
// log into the database file every `intervalMs` (a PASSIVE checkpoint: it never waits for, nor blocks, the
// writer or readers; frames in use by a reader are left for the next round). It writes no rows: the host's
// connection stays the one writer ([Note: one writer]); a checkpoint only moves committed pages.
import { closeSync, openSync, readSync } from 'node:fs'
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

/** The log's salts (bytes 16–23 of its header): they change whenever the log restarts from its start. */
function logGeneration(): string {
  let fd: number | null = null
  try {
    fd = openSync(`${data.file}-wal`, 'r')
    const salt = Buffer.alloc(8)
    return readSync(fd, salt, 0, 8, 16) === 8 ? salt.toString('hex') : ''
  } catch {
    return ''
  } finally {
    if (fd !== null) closeSync(fd)
  }
}

/** Frames of the current log already reported, and which log that was. */
let reported = 0
let generation = ''
function checkpoint(): void {
  const t = performance.now()
  const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[]
  const gen = logGeneration()
  if (gen !== generation) [generation, reported] = [gen, 0]
  if (!r || r.checkpointed <= reported) return
  const frames = r.checkpointed - reported
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
