// Renderer. [Note: one client] The renderer talks to one interface and does not know its host: inside
// Electron it calls the preload's `window.studio`, in a browser (serve mode) it POSTs to /api/<op> and
// listens to /api/events. Both return the same validated outputs and StudioError codes.
import type { OpInput, OpName, OpOutput, StudioEvent } from '@shared/contract'
import { fromEnvelope, StudioError, type ErrorEnvelope } from '@shared/errors'

export interface StudioClient {
  readonly host: 'electron' | 'browser'
  call<K extends OpName>(op: K, input: OpInput<K>): Promise<OpOutput<K>>
  onEvent(listener: (event: StudioEvent) => void): () => void
}

type Reply = { ok: true; result: unknown } | { ok: false; error: ErrorEnvelope }

interface PreloadApi {
  onEvent(listener: (event: unknown) => void): () => void
  [op: string]: unknown
}

function unwrap<T>(reply: Reply): T {
  if (reply.ok) return reply.result as T
  throw fromEnvelope(reply.error)
}

class IpcClient implements StudioClient {
  readonly host = 'electron' as const
  constructor(private readonly api: PreloadApi) {}
  async call<K extends OpName>(op: K, input: OpInput<K>): Promise<OpOutput<K>> {
    const fn = this.api[op] as ((input: unknown) => Promise<Reply>) | undefined
    if (!fn) throw new StudioError('not_found', `operation ${op} is not exposed`)
    return unwrap<OpOutput<K>>(await fn(input))
  }
  onEvent(listener: (event: StudioEvent) => void): () => void {
    return this.api.onEvent((e) => listener(e as StudioEvent))
  }
}

class HttpClient implements StudioClient {
  readonly host = 'browser' as const
  private source: EventSource | null = null
  private readonly listeners = new Set<(event: StudioEvent) => void>()

  async call<K extends OpName>(op: K, input: OpInput<K>): Promise<OpOutput<K>> {
    let res: Response
    try {
      res = await fetch(`/api/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input ?? {}), credentials: 'same-origin' })
    } catch (err) {
      throw new StudioError('io_error', `the studio server is not reachable (${(err as Error).message})`)
    }
    if (res.status === 401) throw new StudioError('unauthorized', 'not signed in: open the URL with the token printed by the server')
    return unwrap<OpOutput<K>>((await res.json()) as Reply)
  }

  onEvent(listener: (event: StudioEvent) => void): () => void {
    this.listeners.add(listener)
    if (!this.source) {
      this.source = new EventSource('/api/events')
      this.source.onmessage = (m: MessageEvent<string>) => {
        const event = JSON.parse(m.data) as StudioEvent
        for (const l of this.listeners) l(event)
      }
    }
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) {
        this.source?.close()
        this.source = null
      }
    }
  }
}

export function createClient(): StudioClient {
  const api = (globalThis as { studio?: PreloadApi }).studio
  return api ? new IpcClient(api) : new HttpClient()
}
