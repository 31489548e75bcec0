// Engine worker (plain Node, onnxruntime-node). ONNX sessions: one memoised promise per model file,
// execution-provider fallback, capped threads, and an I/O contract check against pack.json.
// [Note: provider fallback] Providers are tried in the order CUDA → DirectML → CoreML → CPU (only those that
// exist on the platform: DirectML on Windows, CoreML on macOS). A provider that fails to initialise (e.g. CUDA
// without its libraries) is recorded with its error and the next one is tried; the provider that worked is
// reported to the caller (`engine.status`). Threads: intra-op defaults to min(2, cores) — the studio runs
// beside a UI and the CLI may run several engines — and inter-op to 1 (sequential execution); per model kind
// and from the environment they can be changed (session-tuning.ts, measured by the bench part ort-options).
import * as ort from 'onnxruntime-node'
import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { StudioError } from '@shared/errors'
import type { ModelSpec } from '../packs/pack-schema'
import { kindOfLabel, ortOptions, tuningFor, type ModelKind, type OrtTuning } from './session-tuning'

export type Provider = 'cuda' | 'dml' | 'coreml' | 'cpu'

export const PROVIDER_ORDER: readonly Provider[] = ['cuda', 'dml', 'coreml', 'cpu']

export function platformProviders(platform = process.platform): Provider[] {
  return PROVIDER_ORDER.filter((p) => (p === 'dml' ? platform === 'win32' : p === 'coreml' ? platform === 'darwin' : p === 'cuda' ? platform !== 'darwin' : true))
}

export interface SessionInfo {
  session: ort.InferenceSession
  provider: Provider
  attempts: { provider: Provider; error: string }[]
  file: string
  loadMs: number
}

export interface SessionPoolOptions {
  /** Providers to try, in order (default: platformProviders()). 'cpu' is always appended as last resort. */
  providers?: Provider[]
  intraOpThreads?: number
  /** Silence ONNX Runtime's own log (default true; provider failures are still reported). */
  quietNativeLog?: boolean
  /** Session options per model kind over the defaults (session-tuning.ts; the environment still overrides). */
  tuning?: Partial<Record<ModelKind, Partial<OrtTuning>>>
}

class Unsupported extends Error {}

export class SessionPool {
  private readonly sessions = new Map<string, Promise<SessionInfo>>()
  private readonly skipped = new Map<string, string>()
  private readonly providers: Provider[]
  readonly threads: number
  private readonly tuning: Record<ModelKind, OrtTuning>

  constructor(opts: SessionPoolOptions = {}) {
    const list = opts.providers ?? platformProviders()
    this.providers = list.includes('cpu') ? list : [...list, 'cpu']
    this.threads = Math.max(1, Math.min(opts.intraOpThreads ?? 2, availableParallelism()))
    const kinds: ModelKind[] = ['image', 'text', 'decoder', 'other']
    this.tuning = Object.fromEntries(kinds.map((k) => [k, tuningFor(k, opts.tuning?.[k])])) as Record<ModelKind, OrtTuning>
    // ONNX Runtime prints a native error line whenever a provider library is missing (e.g. CUDA here). The
    // same message is kept in `attempts` and reported through status, so the native log is kept quiet;
    // real failures still surface as exceptions. (Global to the process: set before the first session.)
    if (opts.quietNativeLog !== false) ort.env.logLevel = 'fatal'
  }

  /** The session for `file` (absolute path), created once; a failed creation is forgotten so it can be retried. */
  get(file: string, spec: ModelSpec, label: string): Promise<SessionInfo> {
    return this.memo(file, () => this.create(file, file, spec, label))
  }

  /**
   * A session on a rewritten copy of `file` (held in memory, never written), memoised under `file#key`; the
   * rewrite returns the bytes and the contract of the result, or why it does not apply (then `unsupported`,
   * also memoised: the caller keeps its plain path).
   */
  async getRewritten(file: string, key: string, label: string, rewrite: (bytes: Uint8Array) => { bytes: Uint8Array; spec: ModelSpec } | { unsupported: string }): Promise<SessionInfo | { unsupported: string }> {
    const id = `${file}#${key}`
    const known = this.skipped.get(id)
    if (known) return { unsupported: known }
    const p = this.memo(id, async () => {
      const r = rewrite(await readFile(file))
      if ('unsupported' in r) throw new Unsupported(r.unsupported)
      return this.create(r.bytes, file, r.spec, label)
    })
    try {
      return await p
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err
      this.skipped.set(id, err.message)
      return { unsupported: err.message }
    }
  }

  private memo(id: string, make: () => Promise<SessionInfo>): Promise<SessionInfo> {
    let p = this.sessions.get(id)
    if (!p) {
      p = make()
      this.sessions.set(id, p)
      p.catch(() => this.sessions.delete(id))
    }
    return p
  }

  private async create(source: string | Uint8Array, file: string, spec: ModelSpec, label: string): Promise<SessionInfo> {
    const t0 = performance.now()
    const attempts: SessionInfo['attempts'] = []
    for (const provider of this.providers) {
      try {
        const options: ort.InferenceSession.SessionOptions = {
          executionProviders: [provider],
          ...ortOptions(this.tuning[kindOfLabel(label)], this.threads, availableParallelism()),
          logSeverityLevel: provider === 'cpu' ? 2 : 4
        }
        const session = typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options)
        checkContract(session, spec, label)
        return { session, provider, attempts, file, loadMs: performance.now() - t0 }
      } catch (err) {
        if (err instanceof StudioError) throw err
        const message = (err as Error).message.split('\n')[0]!.slice(0, 300)
        attempts.push({ provider, error: message })
        if (provider === 'cpu') throw new StudioError('model_error', `${label} (${spec.file}): could not be loaded: ${message}`)
      }
    }
    throw new StudioError('model_error', `${label}: no execution provider could load ${spec.file}`)
  }

  loaded(): number {
    return this.sessions.size
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()]
    this.sessions.clear()
    for (const p of all) {
      const info = await p.catch(() => null)
      await info?.session.release().catch(() => undefined)
    }
  }
}

/**
 * The session must expose every input and output pack.json declares, with the declared element type and
 * rank (and fixed sizes where both sides fix them). The error names the model file and both name lists.
 */
export function checkContract(session: ort.InferenceSession, spec: ModelSpec, label: string): void {
  const inputs = session.inputNames
  const outputs = session.outputNames
  const missingIn = spec.inputs.filter((t) => !inputs.includes(t.name)).map((t) => t.name)
  const missingOut = spec.outputs.filter((t) => !outputs.includes(t.name)).map((t) => t.name)
  if (missingIn.length || missingOut.length) {
    throw new StudioError(
      'model_error',
      `${label} (${spec.file}) does not match pack.json: ` +
        (missingIn.length ? `inputs [${missingIn.join(', ')}] not in the model's [${inputs.join(', ')}]` : '') +
        (missingIn.length && missingOut.length ? '; ' : '') +
        (missingOut.length ? `outputs [${missingOut.join(', ')}] not in the model's [${outputs.join(', ')}]` : '')
    )
  }
  const extraIn = inputs.filter((n) => !spec.inputs.some((t) => t.name === n))
  if (extraIn.length) throw new StudioError('model_error', `${label} (${spec.file}) needs inputs pack.json does not declare: [${extraIn.join(', ')}]`)
  const meta = [...(session.inputMetadata ?? []), ...(session.outputMetadata ?? [])]
  for (const t of [...spec.inputs, ...spec.outputs]) {
    const m = meta.find((x) => x.name === t.name)
    if (!m || !m.isTensor) continue
    if (m.type !== t.dtype) throw new StudioError('model_error', `${label} (${spec.file}): "${t.name}" is ${m.type} in the model, pack.json says ${t.dtype}`)
    const shape = m.shape as readonly (number | string)[]
    if (shape.length !== t.shape.length) throw new StudioError('model_error', `${label} (${spec.file}): "${t.name}" has rank ${shape.length} in the model, pack.json says ${t.shape.length}`)
    shape.forEach((d, i) => {
      const want = t.shape[i]
      if (typeof d === 'number' && d > 0 && typeof want === 'number' && d !== want) {
        throw new StudioError('model_error', `${label} (${spec.file}): "${t.name}" dimension ${i} is ${d} in the model, pack.json says ${want}`)
      }
    })
  }
}
