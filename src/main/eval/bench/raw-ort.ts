// Any Node process (onnxruntime-node). The ceiling: plain `session.run` on a pack's ONNX files with inputs
// prepared in advance, the same thread settings as the engine's sessions (sessions.ts: intra-op threads
// capped, inter-op 1, sequential, all graph optimisations), and the same outputs fetched.
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { prefixDecoders, type PackJson as PackJsonType } from '../../engine/packs/pack-schema'
import { gatherCache } from '../../engine/worker/decode-steps'

/** The execution provider every bench session uses (`npm run bench -- --provider cuda`; default cpu). */
let provider: 'cpu' | 'cuda' = 'cpu'
export function setBenchProvider(p: 'cpu' | 'cuda'): void {
  provider = p
}
export function benchProvider(): 'cpu' | 'cuda' {
  return provider
}

/**
 * Why `p` cannot run here, or null when a session opens with it (a one-node model, so nothing of the packs is
 * needed): onnxruntime-node ships the CUDA provider only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12,
 * and it then needs an NVIDIA GPU with CUDA 12 and cuDNN 9 libraries.
 */
export async function providerUnavailable(p: 'cpu' | 'cuda'): Promise<string | null> {
  if (p === 'cpu') return null
  ort.env.logLevel = 'fatal'
  const listed = ort.listSupportedBackends().find((b) => b.name === p)
  const why: string[] = []
  if (!listed) why.push(`this onnxruntime-node build lists no ${p} backend`)
  else if (!listed.bundled) why.push(`onnxruntime-node lists ${p} as not bundled (install it with ONNXRUNTIME_NODE_INSTALL=cuda12)`)
  try {
    // Identity on a [1] float tensor, protobuf written by hand: ir 7, opset 13
    const model = Buffer.from('CAc6NwoQCgF4EgF5IghJZGVudGl0eRIBZ1oPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=', 'base64')
    const s = await ort.InferenceSession.create(model, { executionProviders: [p] })
    await s.release()
    return why.length ? why.join('; ') : null
  } catch (err) {
    why.push(`a session with executionProviders ['${p}'] failed: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`)
    return why.join('; ')
  }
}

export async function openRaw(packDir: string, file: string, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(packDir, file), {
    executionProviders: [provider],
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
  const spec = prefixDecoders(pack.decoders).find((d) => d.id === decoderId)
  if (!spec) throw new Error(`no decoder ${decoderId}`)
  const dim = pack.embedDim
  const prefix = new ort.Tensor('float32', new Float32Array(batch * dim).fill(1 / Math.sqrt(dim)), [batch, dim])
  const ids = Array.from({ length: steps }, (_, t) => new ort.Tensor('int64', new BigInt64Array(batch * (t + 1)).fill(BigInt(bos)), [batch, t + 1]))
  return async () => {
    for (let t = 0; t < steps; t++) await session.run({ [spec.roles.prefix]: prefix, [spec.roles.ids]: ids[t]! }, [spec.roles.logits])
  }
}

/**
 * The same with a KV cache: one run of the main model on [bos] (prefix + first token, fetching `present`),
 * then `steps − 1` runs of the step model on one token and the previous `present` — no gathering, no
 * bookkeeping. Returns one call.
 */
export function rawCachedDecodeSteps(init: ort.InferenceSession, step: ort.InferenceSession, pack: PackJsonType, decoderId: string, batch: number, steps: number, bos: number): () => Promise<void> {
  return rawCachedBeamSteps(init, step, pack, decoderId, batch, 1, steps, bos)
}

/**
 * Beam search's ceiling with a KV cache: the main model once on [bos] for `batch` prefixes, `present` tiled to
 * batch·beam rows once (each prefix's row repeated `beam` times), then `steps − 1` step runs on batch·beam
 * rows, fetching logits and present, with no reordering of the cache between steps (beam 1: no tiling, the
 * greedy ceiling above). Returns one call.
 */
export function rawCachedBeamSteps(init: ort.InferenceSession, step: ort.InferenceSession, pack: PackJsonType, decoderId: string, batch: number, beam: number, steps: number, bos: number): () => Promise<void> {
  const spec = prefixDecoders(pack.decoders).find((d) => d.id === decoderId)
  if (!spec?.cache || !spec.roles.present) throw new Error(`decoder ${decoderId} has no cache`)
  const c = spec.cache
  const dim = pack.embedDim
  const prefix = new ort.Tensor('float32', new Float32Array(batch * dim).fill(1 / Math.sqrt(dim)), [batch, dim])
  const first = new ort.Tensor('int64', new BigInt64Array(batch).fill(BigInt(bos)), [batch, 1])
  const wide = new ort.Tensor('int64', new BigInt64Array(batch * beam).fill(BigInt(bos)), [batch * beam, 1])
  const parents = Array.from({ length: batch * beam }, (_, i) => Math.floor(i / beam))
  return async () => {
    let r = await init.run({ [spec.roles.prefix]: prefix, [spec.roles.ids]: first }, [spec.roles.logits, spec.roles.present!])
    let past = beam === 1 ? (r[spec.roles.present!] as ort.Tensor) : gatherCache(r[spec.roles.present!] as ort.Tensor, parents)
    for (let t = 1; t < steps; t++) {
      r = await step.run({ [c.roles.ids]: wide, [c.roles.past]: past }, [c.roles.logits, c.roles.present])
      past = r[c.roles.present] as ort.Tensor
    }
  }
}
