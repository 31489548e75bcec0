// Engine worker (plain Node; no onnxruntime import, only its option names). ONNX Runtime session options per
// model kind: graph optimisation level, intra-/inter-op threads, CPU memory arena.
// [Note: tuning defaults] Measured by the bench part `ort-options` (2026-12-02, ViT-B/32-size random models,
// a 2-core machine at load average ~20 from other work): graph level basic/extended, the parallel executor and
// arena off never beat "all, intra-op = the pool's cap (2), inter-op 1, arena on" in every round for the image
// tower (arena off 0.86×, inter-op 2 0.76×); intra-op 1 did, for the image tower (1.49×, rounds 1.32–1.67) and
// the decoder step (1.54×, 1.05–1.98) — two threads on two cores that other processes hold mostly wait for
// each other. That is a property of the oversubscribed machine, not of the models, so the defaults stay as
// they were until an idle-machine run says otherwise; a loaded machine can set CAPTION_STUDIO_ORT_INTRA=1.
// Override per process with environment variables (read when a pool is made):
//   CAPTION_STUDIO_ORT_OPT     disabled | basic | extended | all
//   CAPTION_STUDIO_ORT_INTRA   intra-op threads (≥ 1; still capped by the cores)
//   CAPTION_STUDIO_ORT_INTER   inter-op threads (≥ 1; > 1 switches to the parallel executor)
//   CAPTION_STUDIO_ORT_ARENA   1 | 0 (CPU memory arena)
// optionally suffixed with _IMAGE, _TEXT or _DECODER for one kind (e.g. CAPTION_STUDIO_ORT_INTRA_DECODER=1).
import { StudioError } from '@shared/errors'

export type ModelKind = 'image' | 'text' | 'decoder' | 'other'
export type OptLevel = 'disabled' | 'basic' | 'extended' | 'all'

export interface OrtTuning {
  graphOptimizationLevel: OptLevel
  /** null: the pool's thread cap. */
  intraOpThreads: number | null
  interOpThreads: number
  memArena: boolean
}

export const DEFAULT_TUNING: OrtTuning = { graphOptimizationLevel: 'all', intraOpThreads: null, interOpThreads: 1, memArena: true }

/** The kind of model a session label names ("image encoder", "text encoder", "decoder noise-0 cache step"). */
export function kindOfLabel(label: string): ModelKind {
  return label.startsWith('image') ? 'image' : label.startsWith('text') ? 'text' : label.startsWith('decoder') ? 'decoder' : 'other'
}

const LEVELS: readonly OptLevel[] = ['disabled', 'basic', 'extended', 'all']

function read(env: NodeJS.ProcessEnv, name: string, kind: ModelKind): { name: string; value: string } | null {
  const specific = `${name}_${kind.toUpperCase()}`
  if (kind !== 'other' && env[specific] !== undefined && env[specific] !== '') return { name: specific, value: env[specific]! }
  return env[name] !== undefined && env[name] !== '' ? { name, value: env[name]! } : null
}

function positiveInt(v: { name: string; value: string }): number {
  const n = Number(v.value)
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new StudioError('invalid_input', `${v.name}=${v.value}: expected a whole number of threads from 1 to 256`)
  return n
}

/** The tuning for one kind: defaults, then `base` (from code, e.g. the bench), then the environment. */
export function tuningFor(kind: ModelKind, base: Partial<OrtTuning> = {}, env: NodeJS.ProcessEnv = process.env): OrtTuning {
  const t: OrtTuning = { ...DEFAULT_TUNING, ...base }
  const opt = read(env, 'CAPTION_STUDIO_ORT_OPT', kind)
  if (opt) {
    if (!(LEVELS as readonly string[]).includes(opt.value)) throw new StudioError('invalid_input', `${opt.name}=${opt.value}: expected one of ${LEVELS.join(', ')}`)
    t.graphOptimizationLevel = opt.value as OptLevel
  }
  const intra = read(env, 'CAPTION_STUDIO_ORT_INTRA', kind)
  if (intra) t.intraOpThreads = positiveInt(intra)
  const inter = read(env, 'CAPTION_STUDIO_ORT_INTER', kind)
  if (inter) t.interOpThreads = positiveInt(inter)
  const arena = read(env, 'CAPTION_STUDIO_ORT_ARENA', kind)
  if (arena) {
    if (arena.value !== '0' && arena.value !== '1') throw new StudioError('invalid_input', `${arena.name}=${arena.value}: expected 1 (on) or 0 (off)`)
    t.memArena = arena.value === '1'
  }
  return t
}

/** The onnxruntime-node session options for a tuning (threads capped at `maxThreads`). */
export function ortOptions(t: OrtTuning, poolThreads: number, maxThreads: number) {
  return {
    intraOpNumThreads: Math.max(1, Math.min(t.intraOpThreads ?? poolThreads, maxThreads)),
    interOpNumThreads: Math.max(1, Math.min(t.interOpThreads, maxThreads)),
    executionMode: t.interOpThreads > 1 ? ('parallel' as const) : ('sequential' as const),
    graphOptimizationLevel: t.graphOptimizationLevel,
    enableCpuMemArena: t.memArena
  }
}
