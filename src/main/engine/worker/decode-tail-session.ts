// Engine worker (plain Node, onnxruntime-node). Opens a decoder's sessions with the next-token tail
// (packs/graph-decode-tail.ts) added in memory: the main model and, for a cached decoder, its step model.
// [Note: tail fallback] A graph the tail does not understand (external weights, an opset < 11, logits not
// [B, L, V]) is remembered as unsupported and decoded on the JavaScript path (full logits per step), so no pack
// stops working; `CAPTION_STUDIO_DECODE_TAIL=0` forces the JavaScript path (for comparisons and diagnosis).
import type * as ort from 'onnxruntime-node'
import { addDecodeTail, DECODE_TAIL } from '../packs/graph-decode-tail'
import type { DecoderSpec, ModelSpec } from '../packs/pack-schema'
import type { SessionInfo, SessionPool } from './sessions'

/** The contract of a model after the tail was added: one more input, two more outputs. */
export function withTailContract<T extends ModelSpec>(spec: T): T {
  return {
    ...spec,
    inputs: [...spec.inputs, { name: DECODE_TAIL.k, shape: [1], dtype: 'int64' as const }],
    outputs: [...spec.outputs, { name: DECODE_TAIL.logprobs, shape: ['batch', 'k'], dtype: 'float32' as const }, { name: DECODE_TAIL.ids, shape: ['batch', 'k'], dtype: 'int64' as const }]
  }
}

function rewriter(spec: ModelSpec, logits: string) {
  return (bytes: Uint8Array) => {
    const r = addDecodeTail(bytes, logits)
    return 'unsupported' in r ? r : { bytes: r.bytes, spec: withTailContract(spec) }
  }
}

export function decodeTailEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CAPTION_STUDIO_DECODE_TAIL !== '0'
}

export interface TailSessions {
  init: ort.InferenceSession
  step: ort.InferenceSession | null
}

/** The tail sessions of `spec` (and its cache step model when `withCache`), or why they cannot be made. */
export async function openTailSessions(pool: SessionPool, file: (f: string) => string, spec: DecoderSpec, withCache: boolean): Promise<TailSessions | { unsupported: string }> {
  const init = await pool.getRewritten(file(spec.file), 'decode-tail', `decoder ${spec.id} (next-token tail)`, rewriter(spec, spec.roles.logits))
  if ('unsupported' in init) return init
  if (!withCache || !spec.cache) return { init: init.session, step: null }
  const c = spec.cache
  const step: SessionInfo | { unsupported: string } = await pool.getRewritten(file(c.file), 'decode-tail', `decoder ${spec.id} cache step (next-token tail)`, rewriter(c, c.roles.logits))
  if ('unsupported' in step) return step
  return { init: init.session, step: step.session }
}
