// Engine worker (plain Node, onnxruntime-node). How one decoding step gets the next-token logits of every live
// hypothesis: by re-running the whole sequence (any prefix-tokens decoder) or incrementally with a KV cache
// (decoders whose pack entry has `cache`, the decoder_model / decoder_with_past layout of Hugging Face).
// [Note: cache bookkeeping] The cache tensor is [layers, 2, batch, heads, seq, headDim] (keys at index 0,
// values at 1). Hypotheses are re-selected every step (beam search keeps the best W per prefix, finished ones
// leave), so before each step the rows of the previous `present` are gathered by parent: one copy of
// layers·2·heads·seq·headDim floats per live hypothesis, small next to the model run it saves (re-running
// the prefix and every earlier token through all layers and the vocabulary head).
// [Note: step tail] With sessions rewritten by packs/graph-decode-tail.ts (`tail`), a step fetches only the k
// best log-probabilities and ids per hypothesis (StepTop) instead of the [B, L, V] logits; the small per-step
// inputs (k, the last token ids) live in buffers reused across steps, one per batch size.
import * as ort from 'onnxruntime-node'
import { StudioError } from '@shared/errors'
import type { DecoderCacheSpec, DecoderSpec } from '../packs/pack-schema'
import type { Vec } from '../math/linalg'
import { DECODE_TAIL } from '../packs/graph-decode-tail'

export interface StepHyp {
  group: number
  ids: number[]
  /** Row of the hypothesis this one extends in the previous step's batch (−1 on the first step). */
  parent: number
}

export interface StepLogits {
  data: Float32Array
  vocab: number
  /** Offset in `data` of the logits for batch row b (the last position). */
  offset(b: number): number
}

/** The k best next tokens of every batch row, best first: row b's are at [b·k, (b+1)·k). */
export interface StepTop {
  k: number
  logprobs: Float32Array
  ids: BigInt64Array
}

export type StepOut = StepLogits | StepTop

export interface StepRunner {
  step(alive: readonly StepHyp[]): Promise<StepOut>
}

/** Decoder sessions rewritten with the next-token tail, and the k to ask them for. */
export interface StepTail {
  k: number
}

function topOf(res: ort.InferenceSession.OnnxValueMapType, file: string, B: number, k: number): StepTop {
  const lp = output(res, DECODE_TAIL.logprobs, file)
  const ids = output(res, DECODE_TAIL.ids, file)
  if (Number(lp.dims[0]) !== B || Number(lp.dims[1]) !== k || ids.dims.join() !== lp.dims.join()) throw new StudioError('model_error', `${file}: tail outputs [${lp.dims.join(', ')}] / [${ids.dims.join(', ')}], expected [${B}, ${k}]`)
  return { k, logprobs: lp.data as Float32Array, ids: ids.data as BigInt64Array }
}

/** An int64 [B, 1] tensor per batch size, its buffer rewritten every step. */
function lastIdsFeed(): (alive: readonly StepHyp[]) => ort.Tensor {
  const byB = new Map<number, { buf: BigInt64Array; t: ort.Tensor }>()
  return (alive) => {
    const B = alive.length
    let e = byB.get(B)
    if (!e) {
      const buf = new BigInt64Array(B)
      e = { buf, t: new ort.Tensor('int64', buf, [B, 1]) }
      byB.set(B, e)
    }
    for (let b = 0; b < B; b++) {
      const ids = alive[b]!.ids
      e.buf[b] = BigInt(ids[ids.length - 1]!)
    }
    return e.t
  }
}

const kTensor = (k: number) => new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1])

export function output(res: ort.InferenceSession.OnnxValueMapType, name: string, file: string): ort.Tensor {
  const t = res[name]
  if (!t) throw new StudioError('model_error', `${file}: no "${name}" output`)
  return t as ort.Tensor
}

function prefixTensor(prefixes: readonly Vec[], alive: readonly StepHyp[], dim: number): ort.Tensor {
  const pre = new Float32Array(alive.length * dim)
  alive.forEach((h, b) => pre.set(prefixes[h.group]!, b * dim))
  return new ort.Tensor('float32', pre, [alive.length, dim])
}

function checkLogits(t: ort.Tensor, B: number, L: number, file: string): number {
  const [lb, ll, V] = t.dims.map(Number) as [number, number, number]
  if (lb !== B || ll !== L) throw new StudioError('model_error', `${file}: logits shape [${t.dims.join(', ')}], expected [${B}, ${L}, vocab]`)
  return V
}

/** Runs the main model on the whole sequence of every live hypothesis, fetching `fetch`. */
async function runWhole(session: ort.InferenceSession, spec: DecoderSpec, prefixes: readonly Vec[], alive: readonly StepHyp[], fetch: string[], k: ort.Tensor | null): Promise<{ res: ort.InferenceSession.OnnxValueMapType; L: number }> {
  const B = alive.length
  const L = alive[0]!.ids.length
  const ids = new BigInt64Array(B * L)
  alive.forEach((h, b) => h.ids.forEach((t, j) => (ids[b * L + j] = BigInt(t))))
  const feeds: Record<string, ort.Tensor> = { [spec.roles.prefix]: prefixTensor(prefixes, alive, prefixes[0]?.length ?? 0), [spec.roles.ids]: new ort.Tensor('int64', ids, [B, L]) }
  if (k) feeds[DECODE_TAIL.k] = k
  const res = await session.run(feeds, fetch)
  return { res, L }
}

/** The logits of each row's last position, from a [B, L, vocab] output. */
export function lastLogits(res: ort.InferenceSession.OnnxValueMapType, name: string, file: string, B: number, L: number): StepLogits {
  const logits = output(res, name, file)
  const V = checkLogits(logits, B, L, file)
  return { data: logits.data as Float32Array, vocab: V, offset: (b) => (b * L + L - 1) * V }
}

/** Every step runs the full sequence so far (prefix tokens + all generated tokens). */
export function fullRerunSteps(session: ort.InferenceSession, spec: DecoderSpec, prefixes: readonly Vec[], tail?: StepTail): StepRunner {
  const k = tail ? kTensor(tail.k) : null
  return {
    async step(alive) {
      const { res, L } = await runWhole(session, spec, prefixes, alive, tail ? [DECODE_TAIL.logprobs, DECODE_TAIL.ids] : [spec.roles.logits], k)
      return tail ? topOf(res, spec.file, alive.length, tail.k) : lastLogits(res, spec.roles.logits, spec.file, alive.length, L)
    }
  }
}

/** Gathers batch rows `parents` of a [layers, 2, batch, heads, seq, hd] cache. */
export function gatherCache(present: ort.Tensor, parents: readonly number[]): ort.Tensor {
  const dims = present.dims.map(Number)
  if (dims.length !== 6) throw new StudioError('model_error', `decoder cache has rank ${dims.length}, expected [layers, 2, batch, heads, seq, headDim]`)
  const [layers, two, B, H, S, hd] = dims as [number, number, number, number, number, number]
  const src = present.data as Float32Array
  const row = H * S * hd
  const out = new Float32Array(layers * two * parents.length * row)
  for (let lk = 0; lk < layers * two; lk++) {
    const srcBase = lk * B * row
    const dstBase = lk * parents.length * row
    parents.forEach((p, i) => {
      if (p < 0 || p >= B) throw new StudioError('internal', `cache row ${p} out of range (batch ${B})`)
      out.set(src.subarray(srcBase + p * row, srcBase + (p + 1) * row), dstBase + i * row)
    })
  }
  return new ort.Tensor('float32', out, [layers, two, parents.length, H, S, hd])
}

/** The first step runs the main model on [bos] and keeps `present`; later steps feed one token + the cache. */
export function cachedSteps(init: ort.InferenceSession, stepSession: ort.InferenceSession, spec: DecoderSpec & { cache: DecoderCacheSpec }, prefixes: readonly Vec[], tail?: StepTail): StepRunner {
  const presentName = spec.roles.present
  if (!presentName) throw new StudioError('model_error', `decoder ${spec.id}: a cache needs roles.present`)
  const c = spec.cache
  const k = tail ? kTensor(tail.k) : null
  const next = tail ? [DECODE_TAIL.logprobs, DECODE_TAIL.ids] : null
  const initFetch = [...(next ?? [spec.roles.logits]), presentName]
  const stepFetch = [...(next ?? [c.roles.logits]), c.roles.present]
  const lastIds = lastIdsFeed()
  const feeds: Record<string, ort.Tensor> = {}
  if (k) feeds[DECODE_TAIL.k] = k
  let present: ort.Tensor | null = null
  return {
    async step(alive) {
      const B = alive.length
      if (present === null) {
        const { res, L } = await runWhole(init, spec, prefixes, alive, initFetch, k)
        present = output(res, presentName, spec.file)
        return tail ? topOf(res, spec.file, B, tail.k) : lastLogits(res, spec.roles.logits, spec.file, B, L)
      }
      // greedy decoding with no sequence finished keeps every row in place: feed the cache as it is
      let same = B === Number(present.dims[2])
      for (let i = 0; same && i < B; i++) same = alive[i]!.parent === i
      feeds[c.roles.past] = same ? present : gatherCache(present, alive.map((h) => h.parent))
      feeds[c.roles.ids] = lastIds(alive)
      const res = await stepSession.run(feeds, stepFetch)
      present = output(res, c.roles.present, c.file)
      return tail ? topOf(res, c.file, B, tail.k) : lastLogits(res, c.roles.logits, c.file, B, 1)
    }
  }
}
