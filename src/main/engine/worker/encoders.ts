// Engine worker (plain Node, onnxruntime-node). Batched runs of the CLIP image and text encoders, with
// outputs picked by the roles pack.json gives them; embeddings come back L2-normalised.
import * as ort from 'onnxruntime-node'
import { StudioError } from '@shared/errors'
import { normalize, row, type Vec } from '../math/linalg'
import type { ImageModelSpec, TextModelSpec } from '../packs/pack-schema'
import type { Tokenizer } from '../text/tokenizer'

export interface ImageEncoding {
  embed: Vec
  /** Normalised per-token features (CLS first), when requested and available. */
  tokens?: Vec[]
  /** Row-major [T, T] head-averaged last-layer attention, when requested and available. */
  attention?: Float32Array
}

const IMAGE_BATCH = 16
const TEXT_BATCH = 64

function output(res: ort.InferenceSession.ReturnType, name: string, file: string): ort.Tensor {
  const t = res[name]
  if (!t) throw new StudioError('model_error', `${file}: output "${name}" missing from the run`)
  return t
}

/** [Note: reused input buffer] One batch tensor's backing store per image session, reused across calls (a
 *  ViT-B/32 batch of 16 is 9.6 MB that would otherwise be allocated and zero-filled per call). ONNX Runtime
 *  reads the buffer in place during run(), so a buffer is leased for the whole run; a second concurrent call
 *  on the same session (in-process use) gets a fresh array instead of sharing it. */
const inputs = new WeakMap<ort.InferenceSession, { buf: Float32Array; busy: boolean }>()
function leaseInput(session: ort.InferenceSession, length: number): { data: Float32Array; release: () => void } {
  let slot = inputs.get(session)
  if (slot?.busy) return { data: new Float32Array(length), release: () => {} }
  if (!slot || slot.buf.length < length) {
    slot = { buf: new Float32Array(Math.max(length, slot?.buf.length ?? 0)), busy: false }
    inputs.set(session, slot)
  }
  const s = slot
  s.busy = true
  return { data: s.buf.subarray(0, length), release: () => (s.busy = false) }
}

export async function encodeImages(session: ort.InferenceSession, spec: ImageModelSpec, size: number, pixels: readonly Float32Array[], withTokens: boolean): Promise<ImageEncoding[]> {
  const out: ImageEncoding[] = []
  const plane = 3 * size * size
  const { pixels: inName, embeds, tokens: tokName, attention: attName } = spec.roles
  const fetches = [embeds]
  if (withTokens && tokName) fetches.push(tokName)
  if (withTokens && attName) fetches.push(attName)
  for (let start = 0; start < pixels.length; start += IMAGE_BATCH) {
    const chunk = pixels.slice(start, start + IMAGE_BATCH)
    const lease = leaseInput(session, chunk.length * plane)
    const data = lease.data
    let res: ort.InferenceSession.ReturnType
    try {
      chunk.forEach((p, i) => {
        if (p.length !== plane) throw new StudioError('internal', `image input has ${p.length} values, expected ${plane}`)
        data.set(p, i * plane)
      })
      res = await session.run({ [inName]: new ort.Tensor('float32', data, [chunk.length, 3, size, size]) }, fetches)
    } finally {
      lease.release()
    }
    const emb = output(res, embeds, spec.file)
    const dim = Number(emb.dims[1])
    const embData = emb.data as Float32Array
    const tok = withTokens && tokName ? output(res, tokName, spec.file) : null
    const att = withTokens && attName ? output(res, attName, spec.file) : null
    chunk.forEach((_, i) => {
      const enc: ImageEncoding = { embed: normalize(row(embData, i, dim)) }
      if (tok) {
        const T = Number(tok.dims[1])
        const D = Number(tok.dims[2])
        const td = tok.data as Float32Array
        enc.tokens = Array.from({ length: T }, (_, t) => normalize(td.subarray((i * T + t) * D, (i * T + t + 1) * D)))
      }
      if (att) {
        const T = Number(att.dims[1])
        enc.attention = Float32Array.from((att.data as Float32Array).subarray(i * T * T, (i + 1) * T * T))
      }
      out.push(enc)
    })
  }
  return out
}

export async function encodeTexts(session: ort.InferenceSession, spec: TextModelSpec, tokenizer: Tokenizer, texts: readonly string[]): Promise<Vec[]> {
  const out: Vec[] = []
  // [Note: tokenize behind the run] session.run computes on ONNX Runtime's threads and releases this one, so
  // the next chunk is tokenized while the current one runs (a corpus embedding is thousands of chunks;
  // the JS tokenizer costs about a third of a small text model's run). Results are identical.
  const tokenize = (start: number) => (start < texts.length ? tokenizer.batch(texts.slice(start, start + TEXT_BATCH)) : null)
  let next = tokenize(0)
  for (let start = 0; next; start += TEXT_BATCH) {
    const b = next
    const feeds: Record<string, ort.Tensor> = { [spec.roles.ids]: new ort.Tensor('int64', b.ids, [b.batch, b.seq]) }
    if (spec.roles.mask) feeds[spec.roles.mask] = new ort.Tensor('int64', b.mask, [b.batch, b.seq])
    const running = session.run(feeds, [spec.roles.embeds])
    next = tokenize(start + TEXT_BATCH)
    const emb = output(await running, spec.roles.embeds, spec.file)
    const dim = Number(emb.dims[1])
    for (let i = 0; i < b.batch; i++) out.push(normalize(row(emb.data as Float32Array, i, dim)))
  }
  return out
}
