// Engine-side test (Node, onnxruntime-node + /usr/bin/python3 with torch): the random-weight CLIP that
// tools/modelkit/export_hub_clip.py writes in the transformers.js hub layout of Xenova/clip-vit-base-patch32
// loads in onnxruntime-node with the real file names and I/O names, gives [batch, 512] for batch 1 and 2 and
// text lengths 5 and 77, matches the torch forward (fp32 graph), and its 8-bit graphs agree with fp32.
// Skipped, with the reason printed, when /usr/bin/python3 has no torch/onnx.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRng } from '../../src/main/engine/math/rng'

const root = join(__dirname, '..', '..')
const PY = '/usr/bin/python3'
const VOCAB = 300
const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1 }

function torchMissing(): string | null {
  try {
    execFileSync(PY, ['-c', 'import torch, onnx'], { stdio: ['ignore', 'pipe', 'pipe'] })
    return null
  } catch (err) {
    return `${PY} cannot import torch and onnx (${(err as Error).message.split('\n')[0]}); apt install python3-torch python3-onnx`
  }
}

const skip = torchMissing()
if (skip) console.warn(`hub-clip-export.test.ts skipped: ${skip}`)

interface RawSpec { file: string; shape: number[]; dtype: 'float32' | 'int64' }
interface CheckJson {
  vision: { inputs: { pixel_values: RawSpec }; outputs: Record<'image_embeds' | 'token_embeds' | 'cls_attention', RawSpec> }
  text: { inputs: { input_ids: RawSpec }; outputs: { text_embeds: RawSpec } }
}

let dir = ''
let check: CheckJson
const sessions = new Map<string, ort.InferenceSession>()

function raw(spec: RawSpec): ort.Tensor {
  const buf = readFileSync(join(dir, 'check', spec.file))
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  return new ort.Tensor(spec.dtype, spec.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab), spec.shape)
}

async function session(file: string): Promise<ort.InferenceSession> {
  let s = sessions.get(file)
  if (!s) {
    s = await ort.InferenceSession.create(join(dir, 'hub', 'onnx', file), opts)
    sessions.set(file, s)
  }
  return s
}

function pixels(batch: number, seed: number): ort.Tensor {
  const rng = createRng(seed)
  return new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * 224 * 224 }, () => rng.normal()), [batch, 3, 224, 224])
}

/** SOT (VOCAB-2), ordinary ids, EOT (VOCAB-1) at position lengths[i]-1, padded with EOT to the longest row. */
function ids(lengths: number[], seed: number): ort.Tensor {
  const rng = createRng(seed)
  const T = Math.max(...lengths)
  const out = new BigInt64Array(lengths.length * T).fill(BigInt(VOCAB - 1))
  lengths.forEach((n, r) => {
    out[r * T] = BigInt(VOCAB - 2)
    for (let t = 1; t < n - 1; t++) out[r * T + t] = BigInt(Math.floor(rng.uniform() * (VOCAB - 2)))
  })
  return new ort.Tensor('int64', out, [lengths.length, T])
}

async function run(file: string, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const s = await session(file)
  const res = await s.run(feeds)
  return res[s.outputNames[0]!]!
}

function rowCosines(a: Float32Array, b: Float32Array, d: number): number[] {
  const out: number[] = []
  for (let r = 0; r < a.length / d; r++) {
    let ab = 0, aa = 0, bb = 0
    for (let j = r * d; j < (r + 1) * d; j++) {
      ab += a[j]! * b[j]!
      aa += a[j]! * a[j]!
      bb += b[j]! * b[j]!
    }
    out.push(ab / Math.sqrt(aa * bb))
  }
  return out
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)

beforeAll(() => {
  if (skip) return
  dir = mkdtempSync(join(tmpdir(), 'hub-clip-'))
  execFileSync(PY, [join(root, 'tools', 'modelkit', 'export_hub_clip.py'), '--out', join(dir, 'hub'), '--vocab-size', String(VOCAB),
    '--int8', '--check-out', join(dir, 'check')], { stdio: ['ignore', 'pipe', 'pipe'] })
  check = JSON.parse(readFileSync(join(dir, 'check', 'check.json'), 'utf8')) as CheckJson
})

afterAll(async () => {
  for (const s of sessions.values()) await s.release()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(skip !== null)('export_hub_clip.py in onnxruntime-node', () => {
  it('the hub files load with the real input and output names', async () => {
    for (const suffix of ['_quantized', '']) {
      const v = await session(`vision_model${suffix}.onnx`)
      const t = await session(`text_model${suffix}.onnx`)
      expect([v.inputNames, v.outputNames]).toEqual([['pixel_values'], ['image_embeds']])
      expect([t.inputNames, t.outputNames]).toEqual([['input_ids'], ['text_embeds']])
    }
  })

  it('gives [batch, 512] for batch 1 and 2 and text lengths 5 and 77', async () => {
    for (const file of ['vision_model_quantized.onnx', 'vision_model.onnx']) {
      for (const batch of [1, 2]) expect((await run(file, { pixel_values: pixels(batch, batch) })).dims).toEqual([batch, 512])
    }
    for (const file of ['text_model_quantized.onnx', 'text_model.onnx']) {
      for (const lengths of [[5, 5], [77, 77], [5, 77], [5]]) {
        const feeds = { input_ids: ids(lengths, 3) }
        expect(feeds.input_ids.dims).toEqual([lengths.length, Math.max(...lengths)])
        expect((await run(file, feeds)).dims).toEqual([lengths.length, 512])
      }
    }
  })

  it('the fp32 graphs match the torch forward (image_embeds, text_embeds)', async () => {
    const ie = await run('vision_model.onnx', { pixel_values: raw(check.vision.inputs.pixel_values) })
    const want = raw(check.vision.outputs.image_embeds).data as Float32Array
    expect(ie.dims).toEqual(check.vision.outputs.image_embeds.shape)
    expect(maxAbsDiff(ie.data as Float32Array, want)).toBeLessThan(1e-4)
    // not L2-normalised, as the real export
    for (let r = 0; r < 2; r++) expect(Math.abs(Math.hypot(...want.subarray(r * 512, (r + 1) * 512)) - 1)).toBeGreaterThan(0.5)
    const te = await run('text_model.onnx', { input_ids: raw(check.text.inputs.input_ids) })
    expect(te.dims).toEqual([3, 512])
    expect(maxAbsDiff(te.data as Float32Array, raw(check.text.outputs.text_embeds).data as Float32Array)).toBeLessThan(1e-4)
  })

  it('the text graph pools at the EOT token: a token after it changes nothing, moving it changes the row', async () => {
    const base = ids([6, 9], 5)
    const after = new ort.Tensor('int64', BigInt64Array.from(base.data as BigInt64Array), base.dims)
    ;(after.data as BigInt64Array)[7] = 5n // row 0, position 7 (its EOT is at 5)
    const moved = new ort.Tensor('int64', BigInt64Array.from(after.data as BigInt64Array), base.dims)
    ;(moved.data as BigInt64Array)[5] = 6n
    ;(moved.data as BigInt64Array)[7] = BigInt(VOCAB - 1)
    const [b, a, m] = await Promise.all([base, after, moved].map((x) => run('text_model.onnx', { input_ids: x })))
    const bd = b!.data as Float32Array
    expect(maxAbsDiff(a!.data as Float32Array, bd)).toBeLessThan(1e-5)
    expect(maxAbsDiff((m!.data as Float32Array).subarray(0, 512), bd.subarray(0, 512))).toBeGreaterThan(1e-3)
    expect(maxAbsDiff((m!.data as Float32Array).subarray(512), bd.subarray(512))).toBeLessThan(1e-5)
  })

  it('the 8-bit graphs agree with fp32 (cosine >= 0.99 per row)', async () => {
    const px = { pixel_values: pixels(4, 21) }
    const vq = (await run('vision_model_quantized.onnx', px)).data as Float32Array
    const vf = (await run('vision_model.onnx', px)).data as Float32Array
    const tx = { input_ids: ids([5, 12, 40, 77], 22) }
    const tq = (await run('text_model_quantized.onnx', tx)).data as Float32Array
    const tf = (await run('text_model.onnx', tx)).data as Float32Array
    const cv = rowCosines(vq, vf, 512)
    const ct = rowCosines(tq, tf, 512)
    console.info(`int8 vs fp32 cosine: vision min ${Math.min(...cv).toFixed(5)}, text min ${Math.min(...ct).toFixed(5)}`)
    for (const c of [...cv, ...ct]) expect(c).toBeGreaterThanOrEqual(0.99)
    // quantization does change the numbers (the files are not fp32 copies)
    expect(maxAbsDiff(vq, vf)).toBeGreaterThan(1e-4)
    expect(maxAbsDiff(tq, tf)).toBeGreaterThan(1e-4)
  })
})
