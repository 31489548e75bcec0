// Host side (plain Node: Electron main, serve, CLI). The engine supervisor's policy, kept pure: restart
// backoff, how long a request may go without a sign of life, and the health record hosts show.
// [Note: engine supervision] A crashed or hung engine is restarted, never given up on, but not in a tight
// loop: the n-th crash in a row waits base·2^(n−1) (0.5 s, 1 s, 2 s, … capped at 30 s) before the next
// engine starts; an engine that ran `healthyMs` (60 s) before it crashed starts the count again. "Hung"
// is measured per request, not by a heartbeat: the request the engine is running (requests run one at a
// time, in order) must answer or report progress within its method's window. A separate heartbeat would
// not see a request stuck on a promise that never settles (the engine's loop still ticks), and it would
// kill legitimate long synchronous steps (an ONNX session created for a large model, an HNSW build), which
// the long window tolerates. Windows: interactive methods 60 s (STUDIO_ENGINE_TIMEOUT_MS overrides it) (a chunk of four images on a CPU takes a few
// seconds; progress after each image resets it), pack-building and whole-library methods 30 min; a new
// engine has 60 s to load its modules (a cold start of Node, ONNX Runtime and sharp took 3 s on the
// shared 2-core machine) before the request's own window starts.
import type { Isolation } from './transport'
import type { Method } from './protocol'

export interface SupervisionOptions {
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** An engine that lived this long before crashing resets the backoff. */
  healthyMs?: number
  /** Silence window of interactive requests (caption, vqa, score, status, …). */
  requestTimeoutMs?: number
  /** Silence window of long requests (pack building, gap and realignment over a library). */
  longRequestTimeoutMs?: number
  /** How long a new engine may take to load its modules and report `ready`. */
  startupMs?: number
}

export interface EngineHealth {
  isolation: Isolation
  /** The engine's process id while one runs. */
  pid: number | null
  /** Crashes and hangs since the host started (each was followed by a restart). */
  crashes: number
  lastCrash: { at: string; reason: string; method: string | null } | null
  /** Time left before the next engine may start (0: none is waiting). */
  restartInMs: number
}

/** Opening verifies a pack's sha256 (hundreds of MB the first time); the others walk a corpus or a library. */
const LONG: ReadonlySet<Method> = new Set<Method>(['open', 'embedCorpus', 'writeDatastore', 'patchRoute', 'inspectModels', 'gap', 'fitRealignment'])

/** The env override (STUDIO_ENGINE_TIMEOUT_MS, for slow machines), else 60 s. */
function defaultRequestTimeout(): number {
  const env = Number(process.env.STUDIO_ENGINE_TIMEOUT_MS)
  return Number.isFinite(env) && env > 0 ? env : 60_000
}

export class Supervision {
  private readonly base: number
  private readonly max: number
  private readonly healthy: number
  private readonly quick: number
  private readonly long: number
  readonly startupMs: number
  private streak = 0
  crashes = 0
  lastCrash: EngineHealth['lastCrash'] = null
  /** Epoch ms before which no engine may start. */
  notBefore = 0

  constructor(o: SupervisionOptions = {}) {
    this.base = o.backoffBaseMs ?? 500
    this.max = o.backoffMaxMs ?? 30_000
    this.healthy = o.healthyMs ?? 60_000
    this.quick = o.requestTimeoutMs ?? defaultRequestTimeout()
    this.long = o.longRequestTimeoutMs ?? Math.max(30 * 60_000, this.quick)
    this.startupMs = o.startupMs ?? 60_000
  }

  timeoutFor(method: Method): number {
    return LONG.has(method) ? this.long : this.quick
  }

  /** Records a crash of an engine that started at `startedAt`; returns the delay before the next start. */
  crashed(reason: string, method: Method | null, startedAt: number, now = Date.now()): number {
    if (now - startedAt >= this.healthy) this.streak = 0
    this.streak++
    this.crashes++
    this.lastCrash = { at: new Date(now).toISOString(), reason, method }
    const delay = Math.min(this.max, this.base * 2 ** (this.streak - 1))
    this.notBefore = now + delay
    return delay
  }

  health(isolation: Isolation, pid: number | null, now = Date.now()): EngineHealth {
    return { isolation, pid, crashes: this.crashes, lastCrash: this.lastCrash, restartInMs: Math.max(0, this.notBefore - now) }
  }
}
