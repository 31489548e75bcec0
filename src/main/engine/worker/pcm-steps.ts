// Engine worker (plain Node, onnxruntime-node). Decoding steps of a `pcm-net` decoder (pack-schema.ts
// PcmDecoderSpec): every step re-runs the whole graph — the visual-semantic encoder over the image's tokens
// and its textual patches, then the decoder over the words so far — for each live hypothesis.
// [Note: pcm re-run] Re-running the encoder every step costs a little: on shapes-demo it sees 17 + 16
// tokens of width 64, smaller than the decoder's vocabulary head over a beam. A split encoder/decoder graph
// (encoder once, decoder with memory) would save it; not needed at this size.
import * as ort from 'onnxruntime-node'
import { StudioError } from '@shared/errors'
import type { PcmDecoderSpec } from '../packs/pack-schema'
import type { StepRunner } from './decode-steps'
import { lastLogits } from './decode-steps'

/** What a pcm-net decoder reads for one image. */
export interface PcmInput {
  /** [T, D] row-major: the image encoder's tokens, CLS first (T = 1 + grid²). */
  tokens: Float32Array
  /** [K, D] row-major: the salient concepts' text embeddings (empty without mix-up). */
  concepts: Float32Array
}

function dimsOf(spec: PcmDecoderSpec, role: string): (number | string)[] {
  const t = spec.inputs.find((i) => i.name === role)
  if (!t) throw new StudioError('model_error', `decoder ${spec.id}: input "${role}" is not declared in its inputs`)
  return t.shape
}

export function pcmSteps(session: ort.InferenceSession, spec: PcmDecoderSpec, inputs: readonly PcmInput[], dim: number): StepRunner {
  const tokDims = dimsOf(spec, spec.roles.tokens)
  const T = typeof tokDims[1] === 'number' ? tokDims[1] : (inputs[0]?.tokens.length ?? 0) / dim
  const conceptsRole = spec.roles.concepts
  const K = conceptsRole ? Number(dimsOf(spec, conceptsRole)[1]) : 0
  for (const x of inputs) {
    if (x.tokens.length !== T * dim) throw new StudioError('model_error', `decoder ${spec.id}: expects ${T} image tokens of ${dim} values, got ${x.tokens.length / dim}`)
    if (conceptsRole && x.concepts.length !== K * dim) throw new StudioError('model_error', `decoder ${spec.id}: expects ${K} concepts, got ${x.concepts.length / dim}`)
  }
  return {
    async step(alive) {
      const B = alive.length
      const L = alive[0]!.ids.length
      const tok = new Float32Array(B * T * dim)
      const con = new Float32Array(B * K * dim)
      const ids = new BigInt64Array(B * L)
      alive.forEach((h, b) => {
        const x = inputs[h.group]!
        tok.set(x.tokens, b * T * dim)
        if (K) con.set(x.concepts, b * K * dim)
        h.ids.forEach((t, j) => (ids[b * L + j] = BigInt(t)))
      })
      const feeds: Record<string, ort.Tensor> = {
        [spec.roles.tokens]: new ort.Tensor('float32', tok, [B, T, dim]),
        [spec.roles.ids]: new ort.Tensor('int64', ids, [B, L])
      }
      if (conceptsRole) feeds[conceptsRole] = new ort.Tensor('float32', con, [B, K, dim])
      const res = await session.run(feeds, [spec.roles.logits])
      return lastLogits(res, spec.roles.logits, spec.file, B, L)
    }
  }
}
