// Host side (plain Node: Electron main, serve, CLI). The one client every host uses to talk to the engine.
// [Note: engine protocol] `EngineClient` spawns out/main/engine-worker.js lazily (worker_threads), sends typed
// requests (protocol.ts), routes progress to the caller, turns `{code, message}` envelopes back into
// StudioErrors, and forwards an AbortSignal as a `cancel` message. If the worker dies, every pending call is
// rejected with the exit reason and the next call starts a fresh worker. `InProcessEngineClient`
// (../worker/in-process-client.ts) has the same surface but runs EngineHost on the caller's thread.
import { engineWorkerPath } from '../../paths'
import { Worker } from 'node:worker_threads'
import { fromEnvelope, StudioError } from '@shared/errors'
import type { EngineApi, FromWorker, Method, OpenOptions, ProgressInfo, ToWorker } from './protocol'

export interface CallOptions {
  signal?: AbortSignal
  onProgress?: (p: ProgressInfo) => void
}

export interface EngineCaller {
  call<K extends Method>(method: K, args: EngineApi[K]['args'], opts?: CallOptions): Promise<EngineApi[K]['result']>
  dispose(): Promise<void>
}

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  onProgress?: (p: ProgressInfo) => void
  cleanup: () => void
}

export interface EngineClientOptions extends OpenOptions {
  /** Path of the built worker; default: engine-worker.js beside the running bundle. */
  workerPath?: string
  sharpThreads?: number
}

export class EngineClient implements EngineCaller {
  private worker: Worker | null = null
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  /** Realignments set by the host, replayed into a restarted worker (keyed by pack folder and method). */
  private readonly realignments = new Map<string, EngineApi['setRealignment']['args']>()
  private started = false

  constructor(private readonly opts: EngineClientOptions = {}) {}

  private start(): Worker {
    if (this.worker) return this.worker
    const path = this.opts.workerPath ?? engineWorkerPath()
    const { workerPath: _w, ...init } = this.opts
    const w = new Worker(path, { workerData: init })
    w.on('message', (m: FromWorker) => this.onMessage(m))
    const fail = (reason: string) => {
      if (this.worker !== w) return
      this.worker = null
      const err = new StudioError('internal', `engine worker stopped: ${reason}`)
      for (const [id, p] of this.pending) {
        p.cleanup()
        p.reject(err)
        this.pending.delete(id)
      }
    }
    w.on('error', (err) => fail(err.message))
    w.on('exit', (code) => fail(`exit code ${code}`))
    // Do not keep the host process alive just for an idle worker.
    w.unref()
    this.worker = w
    // A restarted worker has lost the realignments the host loaded: send them again first (the worker runs
    // requests in order; their answers carry ids nobody waits for and are dropped).
    if (this.started) for (const args of this.realignments.values()) w.postMessage({ type: 'setRealignment', id: this.nextId++, args } satisfies ToWorker)
    this.started = true
    return w
  }

  private onMessage(m: FromWorker): void {
    const p = this.pending.get(m.id)
    if (!p) return
    if (m.type === 'progress') {
      const { type: _t, id: _i, ...info } = m
      p.onProgress?.(info)
      return
    }
    this.pending.delete(m.id)
    p.cleanup()
    if (this.pending.size === 0) this.worker?.unref()
    if (m.type === 'result') p.resolve(m.value)
    else p.reject(fromEnvelope(m.error))
  }

  call<K extends Method>(method: K, args: EngineApi[K]['args'], opts: CallOptions = {}): Promise<EngineApi[K]['result']> {
    if (opts.signal?.aborted) return Promise.reject(new StudioError('cancelled', 'cancelled'))
    if (method === 'setRealignment') {
      const a = args as EngineApi['setRealignment']['args']
      const key = `${a.method}\0${a.packDir}`
      if (a.realignment) this.realignments.set(key, a)
      else this.realignments.delete(key)
    }
    const w = this.start()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const onAbort = () => w.postMessage({ type: 'cancel', id: this.nextId++, target: id } satisfies ToWorker)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort)
      })
      // Keep the process alive while a call is outstanding.
      w.ref()
      w.postMessage({ type: method, id, args } as ToWorker)
    })
  }

  async dispose(): Promise<void> {
    const w = this.worker
    if (!w) return
    await this.call('close', {}).catch(() => undefined)
    this.worker = null
    await w.terminate()
  }
}
