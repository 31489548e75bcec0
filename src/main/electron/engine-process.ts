// Electron main process. [Note: engine transports] (../engine/client/transport.ts) Under Electron the engine
// runs in a `utilityProcess` — Electron's documented home for native work such as ML inference: a Node
// child of the app, started from the same built entry (out/main/engine-worker.js), that reaches the main
// process through `process.parentPort` (the engine's channel.ts). An ONNX Runtime abort there ends the
// utility process only; the main process, its window and the open job go on, and the EngineClient
// supervisor restarts the engine. Messages are structured clones (Float32Array arrives as one).
// Written against Electron's utilityProcess API (docs: electronjs.org/docs/api/utility-process); it runs
// only where the Electron binary exists (test/e2e/electron.spec.ts checks engine.status reports it).
import { utilityProcess } from 'electron'
import { stderrTail, type EngineTransport, type TransportFactory } from '../engine/client'
import type { ToWorker } from '../engine/client/protocol'

export const utilityProcessTransport: TransportFactory = (entry, events): EngineTransport => {
  const child = utilityProcess.fork(entry, [], { serviceName: 'Caption Studio engine', stdio: ['ignore', 'pipe', 'pipe'] })
  const tail = stderrTail(child.stdout, child.stderr)
  // Messages wait until the process has spawned (postMessage before 'spawn' is not documented to queue).
  let queue: ToWorker[] | null = []
  let fatal = ''
  child.once('spawn', () => {
    for (const m of queue ?? []) child.postMessage(m)
    queue = null
  })
  child.on('message', (m) => events.message(m))
  // A V8 fatal error is reported before the exit (experimental event): keep where it came from.
  child.on('error', (type, location) => (fatal = ` (${type} at ${location})`))
  child.once('exit', (code) => events.exit(`exit code ${code}${fatal}${tail()}`))
  return {
    kind: 'utility',
    get pid() {
      return child.pid ?? null
    },
    send: (m) => (queue ? queue.push(m) : child.postMessage(m)),
    // The main process lives as long as the app does: nothing to reference or release.
    hold: () => undefined,
    kill: () => void child.kill()
  }
}
