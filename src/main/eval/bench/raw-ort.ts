// Any Node process (onnxruntime-node). The ceiling: plain `session.run` on a pack's ONNX files with inputs
// prepared in advance, the same thread settings as the engine's sessions (sessions.ts: intra-op threads
// capped, inter-op 1, sequential, all graph optimisations), and the same outputs fetched.
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { PackJsonType } from '../../engine'

export async function openRaw(packDir: string, file: string, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(packDir, file), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all'
  })
}

/** Deterministic pseudo-random pixels in the normalised range, [batch, 3, size, size]. */
export function fakePixels(batch: number, size: number, seed = 1): ort.Tensor {
  const data = new Float32Array(batch * 3 * size * size)
  let s = seed >>> 0
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    data[i] = (s / 2 ** 32) * 4 - 2
  }
  return new ort.Tensor('float32', data, [batch, 3, size, size])
}

/**
 * Greedy decoding's ceiling: `steps` runs with input_ids of width 1..steps for `batch` prefixes, no softmax,
 * no bookkeeping — the same session.run calls a prefix-tokens decoder without a cache needs. Returns one call.
 */
export function rawDecodeSteps(session: ort.InferenceSession, pack: PackJsonType, decoderId: string, batch: number, steps: number, bos: number): () => Promise<void> {
  const spec = pack.decoders.find((d) => d.id === decoderId)
  if (!spec) throw new Error(`no decoder ${decoderId}`)
  const dim = pack.embedDim
  const prefix = new ort.Tensor('float32', new Float32Array(batch * dim).fill(1 / Math.sqrt(dim)), [batch, dim])
  const ids = Array.from({ length: steps }, (_, t) => new ort.Tensor('int64', new BigInt64Array(batch * (t + 1)).fill(BigInt(bos)), [batch, t + 1]))
  return async () => {
    for (let t = 0; t < steps; t++) await session.run({ [spec.roles.prefix]: prefix, [spec.roles.ids]: ids[t]! }, [spec.roles.logits])
  }
}
