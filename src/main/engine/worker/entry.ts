// Engine worker entry (worker_threads; built to out/main/engine-worker.js). [Note: engine protocol]
// Requests run one at a time (a concurrency-1 queue: ONNX Runtime already uses the cores we allow it, and
// interleaving two batches only adds memory); `cancel` is handled immediately, for queued or running work.
import { parentPort, workerData } from 'node:worker_threads'
import { StudioError, toEnvelope } from '@shared/errors'
import { EngineHost } from './host'
import { configureSharp } from './preprocess'
import type { EngineRequest, FromWorker, OpenOptions, ToWorker } from '../client/protocol'

if (!parentPort) throw new Error('engine-worker.js must be started as a worker thread')
const port = parentPort
const init = (workerData ?? {}) as OpenOptions & { sharpThreads?: number }
configureSharp(init.sharpThreads ?? 1)
const host = new EngineHost(init)
const controllers = new Map<number, AbortController>()
const queue: EngineRequest[] = []
let running = false

const send = (m: FromWorker) => port.postMessage(m)

async function pump(): Promise<void> {
  if (running) return
  running = true
  while (queue.length) {
    const req = queue.shift()!
    const ctl = controllers.get(req.id) ?? new AbortController()
    try {
      if (ctl.signal.aborted) throw new StudioError('cancelled', 'cancelled before it started')
      const value = await host.handle(req.type, req.args as never, ctl.signal, (p) => send({ type: 'progress', id: req.id, ...p }))
      send({ type: 'result', id: req.id, value })
    } catch (err) {
      const env = ctl.signal.aborted ? { code: 'cancelled' as const, message: 'cancelled' } : toEnvelope(err)
      send({ type: 'error', id: req.id, error: env })
    } finally {
      controllers.delete(req.id)
    }
  }
  running = false
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    controllers.get(msg.target)?.abort()
    return
  }
  controllers.set(msg.id, new AbortController())
  queue.push(msg)
  void pump()
})
