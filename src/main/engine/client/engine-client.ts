// Host side (plain Node: Electron main, serve, CLI). The one client every host uses to talk to the engine.
// [Note: engine protocol] `EngineClient` starts the built engine (out/main/engine-worker.js) lazily over a
// transport (transport.ts: a child process by default, Electron's utility process under Electron), sends
// typed requests (protocol.ts), routes progress to the caller, turns `{code, message}` envelopes back into
// StudioErrors, and forwards an AbortSignal as a `cancel` message. `InProcessEngineClient`
// (../worker/in-process-client.ts) has the same surface but runs EngineHost on the caller's thread.
// [Note: crash isolation] The client also supervises its engine (policy in supervision.ts): when the
// engine process dies (a native abort, a kill) or stops answering (the running request's window passes;
// the client then kills it), the request it was running fails with an EngineCrashError that says what
// happened, and the engine is started again after the backoff. Requests queued behind that one were never
// started: they are sent again to the new engine, after what the old one held that the host relies on —
// the packs it opened (with their verify options) and the realignments set — has been replayed.
import { engineWorkerPath } from '../../paths'
import { fromEnvelope, StudioError } from '@shared/errors'
import type { EngineApi, FaultSpec, FromWorker, Method, OpenOptions, ProgressInfo, ToWorker } from './protocol'
import { Supervision, type EngineHealth, type SupervisionOptions } from './supervision'
import { processTransport, threadTransport, type EngineTransport, type Isolation, type TransportFactory } from './transport'

export interface CallOptions {
  signal?: AbortSignal
  onProgress?: (p: ProgressInfo) => void
}

export interface EngineCaller {
  call<K extends Method>(method: K, args: EngineApi[K]['args'], opts?: CallOptions): Promise<EngineApi[K]['result']>
  dispose(): Promise<void>
  /** Supervised transports: the engine's isolation, crashes and restart state. */
  health?(): EngineHealth
  /** Supervised transports: called after each crash or hang (the restart is on its way). */
  onCrash?(listener: (h: EngineHealth) => void): () => void
  /** Tests only ([Note: engine faults]). */
  injectFault?(spec: FaultSpec | null): void
}

/** The request an engine was running when it crashed or hung fails with this (code `internal`). */
export class EngineCrashError extends StudioError {
  constructor(
    message: string,
    readonly hung: boolean
  ) {
    super('internal', message)
    this.name = 'EngineCrashError'
  }
}

interface Pending {
  id: number
  method: Method
  args: unknown
  sent: boolean
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  onProgress?: (p: ProgressInfo) => void
  cleanup: () => void
}

export interface EngineClientOptions extends OpenOptions {
  /** Path of the built engine entry; default: out/main/engine-worker.js of the app. */
  workerPath?: string
  sharpThreads?: number
  /** [Note: engine niceness] how much lower than the host the engine runs; default STUDIO_ENGINE_NICE or 10. */
  niceness?: number
  /** Where the engine runs (default `process`: a child Node process). */
  transport?: 'thread' | 'process' | TransportFactory
  supervision?: SupervisionOptions
}

interface Live {
  t: EngineTransport
  startedAt: number
  exited: Promise<void>
}

export const DEFAULT_ENGINE_NICENESS = 10

/** [Note: engine niceness] `STUDIO_ENGINE_NICE` overrides the default (0 keeps the host's priority). */
export function engineNiceness(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.STUDIO_ENGINE_NICE
  if (raw === undefined || raw.trim() === '') return DEFAULT_ENGINE_NICENESS
  const n = Number(raw)
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : DEFAULT_ENGINE_NICENESS
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`

export class EngineClient implements EngineCaller {
  private live: Live | null = null
  private generation = 0
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  /** What a restarted engine must hold again: opened packs (with their options) and realignments. */
  private readonly opens = new Map<string, EngineApi['open']['args']>()
  private readonly realignments = new Map<string, EngineApi['setRealignment']['args']>()
  /** Ids of replayed requests still running: their answers are signs of life, not results. */
  private readonly replays = new Set<number>()
  private fault: FaultSpec | null = null
  private onceFault: FaultSpec | null = null
  private readonly sup: Supervision
  private readonly factory: TransportFactory
  private readonly listeners = new Set<(h: EngineHealth) => void>()
  private startTimer: NodeJS.Timeout | null = null
  private watchTimer: NodeJS.Timeout | null = null
  /** When the engine last showed life for the request at the head of the queue. */
  private lastSign = 0
  private hung: string | null = null
  /** The live engine has loaded its modules (`ready`). */
  private ready = false
  private closing = false
  private kind: Isolation

  constructor(private readonly opts: EngineClientOptions = {}) {
    this.sup = new Supervision(opts.supervision)
    const t = opts.transport ?? 'process'
    this.factory = t === 'thread' ? threadTransport : t === 'process' ? processTransport : t
    this.kind = t === 'thread' ? 'thread' : t === 'process' ? 'process' : 'utility'
  }

  health(): EngineHealth {
    return this.sup.health(this.kind, this.live?.t.pid ?? null)
  }

  onCrash(listener: (h: EngineHealth) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  injectFault(spec: FaultSpec | null): void {
    if (spec?.once) {
      if (this.live) this.live.t.send({ type: 'fault', id: this.nextId++, spec })
      else this.onceFault = spec
      return
    }
    this.fault = spec
    this.live?.t.send({ type: 'fault', id: this.nextId++, spec })
  }

  /** Starts an engine now, or when the backoff allows; sends every pending request to it. */
  private start(): void {
    if (this.live) return
    const wait = this.sup.notBefore - Date.now()
    if (wait > 0) {
      this.startTimer ??= setTimeout(() => {
        this.startTimer = null
        this.start()
      }, wait)
      return
    }
    const { workerPath, transport: _t, supervision: _s, ...options } = this.opts
    let markExited = () => undefined as void
    const exited = new Promise<void>((ok) => (markExited = ok))
    let t: EngineTransport
    try {
      t = this.factory(workerPath ?? engineWorkerPath(), {
        message: (m) => {
          if (this.live?.t === t) this.onMessage(m)
        },
        exit: (reason) => {
          markExited()
          if (this.live?.t === t) this.onExit(reason)
        }
      })
    } catch (err) {
      // A transport that cannot even start counts as a crash (and backs off like one).
      this.live = null
      return this.failHead(`could not start: ${(err as Error).message}`, this.pending.values().next().value ?? null)
    }
    this.live = { t, startedAt: Date.now(), exited }
    this.kind = t.kind
    this.hung = null
    this.ready = false
    t.send({ type: 'init', id: 0, options: { ...options, niceness: options.niceness ?? engineNiceness() } })
    if (this.fault) t.send({ type: 'fault', id: this.nextId++, spec: this.fault })
    if (this.onceFault) t.send({ type: 'fault', id: this.nextId++, spec: this.onceFault })
    this.onceFault = null
    // Replays: their answers carry ids nobody waits for and are dropped.
    this.replays.clear()
    if (this.generation++ > 0) {
      const replay = (m: ToWorker) => (this.replays.add(m.id), t.send(m))
      for (const args of this.opens.values()) replay({ type: 'open', id: this.nextId++, args })
      for (const args of this.realignments.values()) replay({ type: 'setRealignment', id: this.nextId++, args })
    }
    for (const p of this.pending.values()) this.send(p)
    t.hold(this.pending.size > 0)
    this.touch()
  }

  private send(p: Pending): void {
    p.sent = true
    this.live?.t.send({ type: p.method, id: p.id, args: p.args } as ToWorker)
  }

  private head(): Pending | undefined {
    for (const p of this.pending.values()) if (p.sent) return p
    return undefined
  }

  /** A request became the head (it was sent, the engine got ready, or what ran before it answered): its
   *  window starts now. */
  private touch(): void {
    this.lastSign = Date.now()
    if (this.watchTimer) clearTimeout(this.watchTimer)
    this.watchTimer = null
    this.arm()
  }

  /** Progress only moves `lastSign`; the timer, when it fires, measures from there (check). */
  /** The head's window: its method's, or the startup window while the engine loads. */
  private window(head: Pending): number {
    return this.ready ? this.sup.timeoutFor(head.method) : this.sup.startupMs
  }

  private arm(): void {
    if (this.watchTimer || !this.live) return
    const head = this.head()
    if (!head) return
    const left = this.lastSign + this.window(head) - Date.now()
    this.watchTimer = setTimeout(() => {
      this.watchTimer = null
      this.check()
    }, Math.max(0, left) + 5)
    this.watchTimer.unref()
  }

  private check(): void {
    const head = this.head()
    if (!head || !this.live) return
    const limit = this.window(head)
    if (Date.now() - this.lastSign < limit) return this.arm()
    this.hung = this.ready ? `no answer to "${head.method}" for ${seconds(limit)}` : `it did not start within ${seconds(limit)}`
    this.live.t.kill()
  }

  private onMessage(m: FromWorker): void {
    // The engine loaded its modules (a process start takes a while): the head's window starts now.
    if (m.type === 'ready') {
      this.ready = true
      return this.touch()
    }
    const p = this.pending.get(m.id)
    if (!p) {
      // A replay ran (the request behind it starts its window now).
      if (m.type !== 'progress' && this.replays.delete(m.id)) this.touch()
      return
    }
    const wasHead = this.head() === p
    if (m.type === 'progress') {
      if (wasHead) this.lastSign = Date.now()
      const { type: _t, id: _i, ...info } = m
      p.onProgress?.(info)
      return
    }
    this.pending.delete(m.id)
    p.cleanup()
    if (this.pending.size === 0) this.live?.t.hold(false)
    if (wasHead) this.touch()
    if (m.type === 'result') p.resolve(m.value)
    else p.reject(fromEnvelope(m.error))
  }

  private onExit(reason: string): void {
    const live = this.live!
    this.live = null
    if (this.watchTimer) clearTimeout(this.watchTimer)
    this.watchTimer = null
    if (this.closing) {
      for (const p of this.pending.values()) p.reject(new StudioError('cancelled', 'the engine was closed'))
      for (const p of this.pending.values()) p.cleanup()
      this.pending.clear()
      return
    }
    const head = this.head()
    for (const p of this.pending.values()) p.sent = false
    this.failHead(this.hung ?? reason, head ?? null, live.startedAt)
  }

  /** Records the crash, fails the request the engine was running, and starts the next engine (backoff). */
  private failHead(reason: string, head: Pending | null, startedAt = Date.now()): void {
    const hung = this.hung !== null
    const delay = this.sup.crashed(reason, head?.method ?? null, startedAt)
    const what = head ? ` while running "${head.method}"` : ''
    const message = hung
      ? `the caption engine stopped answering (${reason}); it was stopped and restarts in ${seconds(delay)}`
      : `the caption engine crashed${what} (${reason}); it restarts in ${seconds(delay)}`
    if (head) {
      this.pending.delete(head.id)
      head.cleanup()
      head.reject(new EngineCrashError(message, hung))
    }
    const h = this.health()
    for (const l of this.listeners) l(h)
    if (this.pending.size > 0) this.start()
  }

  private cancel(id: number): void {
    const p = this.pending.get(id)
    if (!p) return
    if (p.sent && this.live) return this.live.t.send({ type: 'cancel', id: this.nextId++, target: id })
    // Not started by any engine yet (waiting for a restart): nothing to tell an engine.
    this.pending.delete(id)
    p.cleanup()
    p.reject(new StudioError('cancelled', 'cancelled'))
  }

  call<K extends Method>(method: K, args: EngineApi[K]['args'], opts: CallOptions = {}): Promise<EngineApi[K]['result']> {
    if (opts.signal?.aborted) return Promise.reject(new StudioError('cancelled', 'cancelled'))
    this.remember(method, args)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const onAbort = () => this.cancel(id)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      const p: Pending = { id, method, args, sent: false, resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress, cleanup: () => opts.signal?.removeEventListener('abort', onAbort) }
      const idle = this.pending.size === 0
      this.pending.set(id, p)
      if (!this.live) return this.start()
      this.send(p)
      // Keep the process alive while a call is outstanding.
      this.live.t.hold(true)
      if (idle) this.touch()
    })
  }

  /** Packs opened and realignments set: replayed into a restarted engine. */
  private remember(method: Method, args: unknown): void {
    if (method === 'open') {
      const a = args as EngineApi['open']['args']
      this.opens.set(a.packDir, a)
    } else if (method === 'close') {
      const dir = (args as EngineApi['close']['args']).packDir
      for (const k of [...this.opens.keys()]) if (dir === undefined || k === dir) this.opens.delete(k)
    } else if (method === 'setRealignment') {
      const a = args as EngineApi['setRealignment']['args']
      const key = `${a.method}\0${a.packDir}`
      if (a.realignment) this.realignments.set(key, a)
      else this.realignments.delete(key)
    }
  }

  async dispose(): Promise<void> {
    if (this.startTimer) clearTimeout(this.startTimer)
    this.startTimer = null
    const live = this.live
    if (!live) {
      for (const p of this.pending.values()) p.reject(new StudioError('cancelled', 'the engine was closed'))
      this.pending.clear()
      return
    }
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((ok) => (timer = setTimeout(ok, 5_000)))
    await Promise.race([this.call('close', {}).catch(() => undefined), grace])
    clearTimeout(timer)
    this.closing = true
    // Held while it goes: an unreferenced child would let the host's loop end before `exited` settles.
    live.t.hold(true)
    live.t.kill()
    await live.exited
    this.closing = false
  }
}
