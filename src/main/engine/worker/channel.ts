// Engine process side (the engine child process, Electron utility process or worker thread; see
// [Note: engine transports] in ../client/transport.ts). The engine's end of whichever channel started it:
// a worker_threads parentPort, Electron's `process.parentPort` (a utility process; messages arrive wrapped
// in a MessageEvent), or child_process IPC (`process.send`). The engine entry speaks the same protocol over
// all three.
import { parentPort } from 'node:worker_threads'
import type { FromWorker, ToWorker } from '../client/protocol'

export interface ParentChannel {
  readonly kind: 'thread' | 'utility' | 'process'
  post(m: FromWorker): void
  onMessage(cb: (m: ToWorker) => void): void
}

/** Electron's `process.parentPort` in a utility process (typed here: the engine never imports electron). */
interface UtilityParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void
  postMessage(message: unknown): void
}

export function parentChannel(): ParentChannel {
  if (parentPort) {
    const port = parentPort
    return { kind: 'thread', post: (m) => port.postMessage(m), onMessage: (cb) => void port.on('message', cb) }
  }
  const utility = (process as { parentPort?: UtilityParentPort }).parentPort
  if (utility) {
    return { kind: 'utility', post: (m) => utility.postMessage(m), onMessage: (cb) => utility.on('message', (e) => cb(e.data as ToWorker)) }
  }
  const send = process.send?.bind(process)
  if (send) {
    // The host went away (it exited or was killed): nothing is left to answer to.
    process.on('disconnect', () => process.exit(0))
    return {
      kind: 'process',
      post: (m) => {
        if (process.connected) send(m, undefined, undefined, (err) => void err)
      },
      onMessage: (cb) => void process.on('message', (m) => cb(m as ToWorker))
    }
  }
  throw new Error('engine-worker.js is started by a host: as a child process with IPC, an Electron utility process or a worker thread')
}
