// Engine worker side, run on the caller's thread (in-process tests, eval scripts, tools that own their process;
// loads onnxruntime-node). The same surface as EngineClient (../client/engine-client.ts, [Note: engine protocol])
// but EngineHost runs here instead of in a worker thread.
import { StudioError } from '@shared/errors'
import type { CallOptions, EngineCaller } from '../client/engine-client'
import type { EngineApi, Method, OpenOptions } from '../client/protocol'
import { EngineHost } from './host'

export class InProcessEngineClient implements EngineCaller {
  readonly host: EngineHost

  constructor(opts: OpenOptions = {}) {
    this.host = new EngineHost(opts)
  }

  async call<K extends Method>(method: K, args: EngineApi[K]['args'], opts: CallOptions = {}): Promise<EngineApi[K]['result']> {
    const ctl = new AbortController()
    const onAbort = () => ctl.abort()
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'cancelled')
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await this.host.handle(method, args, ctl.signal, opts.onProgress ?? (() => undefined))
    } catch (err) {
      if (ctl.signal.aborted) throw new StudioError('cancelled', 'cancelled')
      throw err
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
    }
  }

  async dispose(): Promise<void> {
    await this.host.handle('close', {}, new AbortController().signal, () => undefined)
  }
}
