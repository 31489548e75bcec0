// Engine process entry (built to out/main/engine-worker.js): a child Node process of serve, the CLI and the
// worker fleet, an Electron utility process under Electron, or a worker thread (channel.ts). [Note: engine
// protocol] The first message is `init`; requests run one at a time (a concurrency-1 queue: ONNX Runtime
// already uses the cores we allow it, and interleaving two batches only adds memory); `cancel` is handled
// immediately, for queued or running work; `fault` arms test-only fault injection (fault.ts).
import { StudioError, toEnvelope } from '@shared/errors'
import { parentChannel } from './channel'
import { faultMatches, triggerFault } from './fault'
import { EngineHost } from './host'
import { configureSharp } from './preprocess'
import { lowerEnginePriority } from './priority'
import type { EngineRequest, FaultSpec, FromWorker, ToWorker } from '../client/protocol'

const channel = parentChannel()
const controllers = new Map<number, AbortController>()
const queue: EngineRequest[] = []
let host: EngineHost | null = null
let fault: FaultSpec | null = null
let running = false

const send = (m: FromWorker) => channel.post(m)

async function pump(): Promise<void> {
  if (running || !host) return
  running = true
  while (queue.length) {
    const req = queue.shift()!
    // [Note: preprocess ahead] the next request's images decode while this one runs
    if (queue[0]) host.prefetch(queue[0])
    const ctl = controllers.get(req.id) ?? new AbortController()
    try {
      if (ctl.signal.aborted) throw new StudioError('cancelled', 'cancelled before it started')
      if (fault && faultMatches(fault, req)) triggerFault(fault)
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

channel.onMessage((msg: ToWorker) => {
  switch (msg.type) {
    case 'init':
      // [Note: engine niceness] before any session or sharp thread exists, so they inherit it
      if (!host) lowerEnginePriority(msg.options.niceness ?? 0)
      configureSharp(msg.options.sharpThreads ?? 1)
      host ??= new EngineHost(msg.options)
      send({ type: 'ready', id: 0 })
      void pump()
      return
    case 'fault':
      fault = msg.spec
      return
    case 'cancel':
      controllers.get(msg.target)?.abort()
      return
    default:
      controllers.set(msg.id, new AbortController())
      queue.push(msg)
      if (running && queue.length === 1) host?.prefetch(msg)
      void pump()
  }
})
