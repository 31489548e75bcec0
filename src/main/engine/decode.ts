// Engine worker (plain Node, onnxruntime-node). Noise-robust decoding with a `prefix-tokens` decoder.
// [Note: noisy decoding] Each of N noise samples is x' = normalize(normalize(x) + ε), ε ~ N(0, σ²·I)
// (CapDec/MacCap, methods.md §0.3: isotropic, not scaled by √d), drawn from a seeded stream per sample
// (rng.ts). With `clean` the noise-free x is added as sample −1 (the CapDec inference input). All samples
// (× beam width) are decoded together: one session.run per step over every live hypothesis. The pack's
// decoders have no KV cache (the format has no cache inputs), so each step re-runs the prefix of the
// sequence; at ≤ 20 tokens and a 0.6M-parameter decoder that costs less than a cache would save.
// Beam search keeps the plain sum of log-probabilities (PCM-Net §4.4), optionally divided by len^α.
import * as ort from 'onnxruntime-node'
import { StudioError } from '@shared/errors'
import { logSoftmaxSlice, normalize, topK, type Vec } from './linalg'
import type { DecoderSpec } from './pack-schema'
import { createRng, deriveSeed } from './rng'
import type { Tokenizer } from './tokenizer'

export interface NoiseSample {
  /** −1 for the clean (noise-free) input. */
  index: number
  seed: number | null
  prefix: Vec
}

export function noiseSamples(x: Vec, n: number, variance: number, seed: number, clean: boolean): NoiseSample[] {
  const base = normalize(x)
  const out: NoiseSample[] = clean ? [{ index: -1, seed: null, prefix: base }] : []
  const sigma = Math.sqrt(Math.max(0, variance))
  for (let i = 0; i < n; i++) {
    const s = deriveSeed(seed, i)
    const rng = createRng(s)
    const v = new Float32Array(base.length)
    for (let k = 0; k < base.length; k++) v[k] = base[k]! + sigma * rng.normal()
    out.push({ index: i, seed: s, prefix: normalize(v) })
  }
  return out
}

export interface Decoded {
  ids: number[]
  text: string
  logProb: number
  score: number
}

interface Hyp {
  group: number
  ids: number[]
  logProb: number
}

export interface DecodeOptions {
  beam: number
  maxLength: number
  lengthPenalty?: number
  signal?: AbortSignal
}

/** Decode every prefix; returns the best hypothesis per prefix, in input order. */
export async function decodePrefixes(session: ort.InferenceSession, spec: DecoderSpec, tokenizer: Tokenizer, prefixes: readonly Vec[], opts: DecodeOptions): Promise<Decoded[]> {
  const W = Math.max(1, opts.beam)
  const maxLen = Math.max(1, Math.min(opts.maxLength, tokenizer.maxLength - 1))
  const alpha = opts.lengthPenalty ?? 0
  const dim = prefixes[0]?.length ?? 0
  const score = (h: Hyp) => (alpha ? h.logProb / Math.pow(h.ids.length - 1, alpha) : h.logProb)
  let alive: Hyp[] = prefixes.map((_, g) => ({ group: g, ids: [tokenizer.bos], logProb: 0 }))
  const finished: Hyp[][] = prefixes.map(() => [])
  for (let step = 0; step < maxLen && alive.length > 0; step++) {
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'decoding cancelled')
    const B = alive.length
    const L = alive[0]!.ids.length
    const pre = new Float32Array(B * dim)
    const ids = new BigInt64Array(B * L)
    alive.forEach((h, b) => {
      pre.set(prefixes[h.group]!, b * dim)
      h.ids.forEach((t, j) => (ids[b * L + j] = BigInt(t)))
    })
    const res = await session.run(
      { [spec.roles.prefix]: new ort.Tensor('float32', pre, [B, dim]), [spec.roles.ids]: new ort.Tensor('int64', ids, [B, L]) },
      [spec.roles.logits]
    )
    const logits = res[spec.roles.logits]
    if (!logits) throw new StudioError('model_error', `${spec.file}: no "${spec.roles.logits}" output`)
    const [lb, ll, V] = logits.dims.map(Number) as [number, number, number]
    if (lb !== B || ll !== L) throw new StudioError('model_error', `${spec.file}: logits shape [${logits.dims.join(', ')}], expected [${B}, ${L}, vocab]`)
    const data = logits.data as Float32Array
    const byGroup = new Map<number, Hyp[]>()
    alive.forEach((h, b) => {
      const lp = logSoftmaxSlice(data, (b * L + L - 1) * V, V)
      const exp = byGroup.get(h.group) ?? []
      for (const t of topK(lp, W)) exp.push({ group: h.group, ids: [...h.ids, t], logProb: h.logProb + lp[t]! })
      byGroup.set(h.group, exp)
    })
    const next: Hyp[] = []
    const last = step === maxLen - 1
    for (const [g, exp] of byGroup) {
      exp.sort((a, b) => score(b) - score(a))
      const room = W - finished[g]!.length
      for (const h of exp.slice(0, Math.max(0, room))) {
        if (h.ids[h.ids.length - 1] === tokenizer.eos || last) finished[g]!.push(h)
        else next.push(h)
      }
    }
    alive = next
  }
  return finished.map((list, g) => {
    if (list.length === 0) throw new StudioError('internal', `decoder produced no hypothesis for prefix ${g}`)
    const best = list.reduce((a, b) => (score(b) > score(a) ? b : a))
    const body = best.ids.slice(1)
    return { ids: body, text: tokenizer.decode(body), logProb: best.logProb, score: score(best) }
  })
}
