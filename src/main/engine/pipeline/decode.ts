// Engine worker (plain Node, onnxruntime-node). Noise-robust decoding with a `prefix-tokens` decoder.
// [Note: noisy decoding] Each of N noise samples is x' = normalize(normalize(x) + ε), ε ~ N(0, σ²·I)
// (CapDec/MacCap, methods.md §0.3: isotropic, not scaled by √d), drawn from a seeded stream per sample
// (rng.ts). With `clean` the noise-free x is added as sample −1 (the CapDec inference input). All samples
// (× beam width) are decoded together: one session.run per step over every live hypothesis. A decoder with
// a `cache` step model is decoded incrementally (decode-steps.ts); without one each step re-runs the whole
// sequence, which on the demo pack's 0.6M-parameter decoders at ≤ 20 tokens costs little.
// Beam search keeps the plain sum of log-probabilities (PCM-Net §4.4), optionally divided by len^α.
// A runner gives either each row's logits (the log-softmax and top-k are done here) or, with the decoder graph's
// next-token tail (packs/graph-decode-tail.ts), the k best log-probabilities and ids already chosen.
import { StudioError } from '@shared/errors'
import type { StepHyp, StepRunner } from '../worker/decode-steps'
import { argmaxF32, logSumExp, normalize, topK, type Vec } from '../math/linalg'
import { createRng, deriveSeed } from '../math/rng'
import type { Tokenizer } from '../text/tokenizer'

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

interface Hyp extends StepHyp {
  logProb: number
}

export interface DecodeOptions {
  beam: number
  maxLength: number
  lengthPenalty?: number
  signal?: AbortSignal
}

/** Decode every prefix; returns the best hypothesis per prefix, in input order. `runner` computes each
 *  step's logits or top-k (fullRerunSteps or cachedSteps over the same prefixes, with a tail of k ≥ beam). */
export async function decodePrefixes(runner: StepRunner, tokenizer: Tokenizer, prefixes: readonly Vec[], opts: DecodeOptions): Promise<Decoded[]> {
  return decodeGroups(runner, tokenizer, prefixes.length, opts)
}

/** Beam search for `count` independent inputs (groups 0..count−1) whose step logits `runner` computes. */
export async function decodeGroups(runner: StepRunner, tokenizer: Tokenizer, count: number, opts: DecodeOptions): Promise<Decoded[]> {
  const W = Math.max(1, opts.beam)
  const maxLen = Math.max(1, Math.min(opts.maxLength, tokenizer.maxLength - 1))
  const alpha = opts.lengthPenalty ?? 0
  const score = (h: Hyp) => (alpha ? h.logProb / Math.pow(h.ids.length - 1, alpha) : h.logProb)
  let alive: Hyp[] = Array.from({ length: count }, (_, g) => ({ group: g, ids: [tokenizer.bos], logProb: 0, parent: -1 }))
  const finished: Hyp[][] = Array.from({ length: count }, () => [])
  for (let step = 0; step < maxLen && alive.length > 0; step++) {
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'decoding cancelled')
    const out = await runner.step(alive)
    const byGroup = new Map<number, Hyp[]>()
    alive.forEach((h, b) => {
      const exp = byGroup.get(h.group) ?? []
      if ('ids' in out) {
        // the graph's tail already chose: k best log-probabilities per row, best first
        for (let j = 0; j < Math.min(W, out.k); j++) {
          const at = b * out.k + j
          exp.push({ group: h.group, ids: [...h.ids, Number(out.ids[at]!)], logProb: h.logProb + out.logprobs[at]!, parent: b })
        }
      } else {
        // log-softmax keeps the order of the logits: pick on the raw slice, then subtract log-sum-exp
        const row = out.data.subarray(out.offset(b), out.offset(b) + out.vocab)
        const lse = logSumExp(row)
        for (const t of W === 1 ? [argmaxF32(row)] : topK(row, W)) exp.push({ group: h.group, ids: [...h.ids, t], logProb: h.logProb + (row[t]! - lse), parent: b })
      }
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
