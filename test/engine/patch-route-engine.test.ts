// Engine-side test (Node, onnxruntime-node + /usr/bin/python3 with torch): a pack whose image model is a stock
// hub-layout CLIP vision export (random weights, int8, tools/modelkit/export_hub_clip.py) rewritten by
// patchRouteFor (graph-surgery.ts) runs MacCap's regions "patch" in the engine on real photos: 7×7 heatmap,
// weights summing to 1, attention and per-patch similarity equal to what the rewritten model itself outputs
// for the engine's preprocessed pixels, and a different region set from the crops route.
// The text side is the same export's 8-bit text tower with a word tokenizer of --vocab-size entries (SOT = N-2,
// EOT = N-1 as in CLIP, so the graph pools at EOT). Skipped, with the reason printed, when /usr/bin/python3
// has no torch/onnx or the scikit-image sample photos are missing.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchRouteFor } from '../../src/main/engine/packs/graph-surgery'
import { captionFiles, Engine, type CaptionResult } from '../../src/main/engine/worker'
import { cosine, normalize } from '../../src/main/engine/math/linalg'

const root = join(__dirname, '..', '..')
const PY = '/usr/bin/python3'
const PHOTOS = '/usr/lib/python3/dist-packages/skimage/data'
const WORDS = ['a', 'an', 'the', 'photo', 'of', 'cat', 'dog', 'woman', 'man', 'cup', 'coffee', 'on', 'table', 'in', 'space', 'suit', 'sitting', 'with', 'red', 'white', 'brown', 'saucer']
const VOCAB = ['<pad>', '<unk>', ...WORDS, '<bos>', '<eos>']
const CAPTIONS = ['a photo of a cat', 'a brown cat sitting', 'a cup of coffee on a table', 'a white cup with a saucer', 'a woman in a space suit', 'a man with a red cup', 'a dog on the table']
const files = ['astronaut.png', 'chelsea.png', 'coffee.png'].map((f) => join(PHOTOS, f))

function why(): string | null {
  try {
    execFileSync(PY, ['-c', 'import torch, onnx'], { stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    return `${PY} cannot import torch and onnx (${(err as Error).message.split('\n')[0]})`
  }
  const missing = files.filter((f) => !existsSync(f))
  return missing.length ? `sample photos missing: ${missing.join(', ')}` : null
}
const skip = why()
if (skip) console.warn(`patch-route-engine.test.ts skipped: ${skip}`)

let dir = ''
let packDir = ''
let engine: Engine

function f32(a: Float32Array): Buffer {
  return Buffer.from(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength))
}

function writePack(withDatastore: Float32Array | null): void {
  const entries = ['image_encoder.onnx', 'text_encoder.onnx', 'tokenizer.json', ...(withDatastore ? ['datastore.f32', 'datastore_captions.json'] : [])]
  if (withDatastore) {
    writeFileSync(join(packDir, 'datastore.f32'), f32(withDatastore))
    writeFileSync(join(packDir, 'datastore_captions.json'), JSON.stringify(CAPTIONS))
  }
  const pack = {
    format: 'caption-studio-pack/1',
    id: 'patch-route-test',
    version: '0.0.1',
    embedDim: 512,
    preprocess: { size: 224, resize: 'shortest-edge', kernel: 'cubic', mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
    tokenizer: { file: 'tokenizer.json', type: 'word' },
    models: {
      image: {
        file: 'image_encoder.onnx',
        roles: { pixels: 'pixel_values', embeds: 'image_embeds', tokens: 'token_embeds', attention: 'cls_attention' },
        patchGrid: [7, 7],
        inputs: [{ name: 'pixel_values', shape: ['batch_size', 3, 224, 224], dtype: 'float32' }],
        outputs: [
          { name: 'image_embeds', shape: ['batch_size', 512], dtype: 'float32' },
          { name: 'token_embeds', shape: ['batch_size', 50, 512], dtype: 'float32' },
          { name: 'cls_attention', shape: ['batch_size', 50, 50], dtype: 'float32' }
        ]
      },
      text: {
        file: 'text_encoder.onnx',
        roles: { ids: 'input_ids', embeds: 'text_embeds' },
        inputs: [{ name: 'input_ids', shape: ['batch_size', 'sequence_length'], dtype: 'int64' }],
        outputs: [{ name: 'text_embeds', shape: ['batch_size', 512], dtype: 'float32' }]
      }
    },
    ...(withDatastore ? { arrays: { datastore: { file: 'datastore.f32', shape: [CAPTIONS.length, 512] } }, datastore: { captions: 'datastore_captions.json' } } : {}),
    defaults: { regions: 'patch', topK: 10, cleanSample: false, retrieval: true, retrievalK: 4, align: 'off' },
    files: entries.map((path) => {
      const data = readFileSync(join(packDir, path))
      return { path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }
    })
  }
  writeFileSync(join(packDir, 'pack.json'), JSON.stringify(pack, null, 2))
}

beforeAll(async () => {
  if (skip) return
  dir = mkdtempSync(join(tmpdir(), 'patch-route-engine-'))
  packDir = join(dir, 'pack')
  mkdirSync(packDir)
  execFileSync(PY, [join(root, 'tools', 'modelkit', 'export_hub_clip.py'), '--out', join(dir, 'hub'), '--vocab-size', String(VOCAB.length), '--int8'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const r = await patchRouteFor(join(dir, 'hub', 'onnx', 'vision_model_quantized.onnx'), join(packDir, 'image_encoder.onnx'))
  if (!r.ok) throw new Error(r.reason)
  copyFileSync(join(dir, 'hub', 'onnx', 'text_model_quantized.onnx'), join(packDir, 'text_encoder.onnx'))
  const n = VOCAB.length
  writeFileSync(join(packDir, 'tokenizer.json'), JSON.stringify({ type: 'word', vocab: VOCAB, pad: 0, unk: 1, bos: n - 2, eos: n - 1, maxLength: 16, lowercase: true }))
  // the datastore is the text tower's own embeddings of the captions: embed them with the pack's engine first
  writePack(null)
  const first = await Engine.open(packDir, { intraOpThreads: 1 })
  const embs = await first.embedTexts(CAPTIONS)
  await first.close()
  writePack(Float32Array.from(embs.flatMap((e) => [...e])))
  engine = await Engine.open(packDir, { intraOpThreads: 1 })
}, 120_000)

afterAll(async () => {
  await engine?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

// no decoder in this pack: candidates are the datastore captions (retrieval), ranked by CLIP-S
const ok = (r: unknown): CaptionResult => {
  if (r && typeof r === 'object' && 'error' in r) throw new Error(`unexpected failure: ${JSON.stringify(r)}`)
  return r as CaptionResult
}

describe.skipIf(skip !== null)('regions "patch" on a stock CLIP export rewritten by graph surgery', () => {
  it('gives a 7×7 heatmap whose weights sum to 1, from the rewritten model\'s own attention and tokens', async () => {
    const out = (await captionFiles(engine, files.map((file) => ({ file })), { regions: 'patch', noiseSamples: 0 })).map(ok)
    const pre = await engine.preprocess(files)
    const pixels = pre.map((p) => {
      if (!p.ok) throw new Error(p.error.message)
      return p.value.pixels
    })
    // one run over the same three images, as the engine batched them (int8 activation scales are per batch)
    const s = await ort.InferenceSession.create(join(packDir, 'image_encoder.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 })
    const data = new Float32Array(pixels.length * 3 * 224 * 224)
    pixels.forEach((p, i) => data.set(p, i * p.length))
    const direct = await s.run({ pixel_values: new ort.Tensor('float32', data, [pixels.length, 3, 224, 224]) })
    await s.release()
    const att = direct.cls_attention!.data as Float32Array
    const tok = direct.token_embeds!.data as Float32Array
    for (const [i, r] of out.entries()) {
      const reg = r.regions
      expect(reg?.kind).toBe('patch')
      if (reg?.kind !== 'patch') return
      expect(reg.grid).toEqual([7, 7])
      expect(reg.weights).toHaveLength(49)
      expect(reg.attention).toHaveLength(49)
      expect(reg.selected).toHaveLength(10)
      expect(reg.weights.reduce((a, b) => a + b, 0) + reg.clsWeight).toBeCloseTo(1, 6)
      for (const w of reg.weights) expect(w).toBeGreaterThan(0)
      // the heatmap's attention is row 0 of the model's cls_attention (patches only, CLS excluded)
      const row = att.subarray(i * 2500 + 1, i * 2500 + 50)
      reg.attention.forEach((a, j) => expect(a).toBeCloseTo(row[j]!, 6))
      // per-patch similarity = cos(token j, the picked caption's text embedding)
      const [text] = await engine.embedTexts([r.caption])
      const sims = Array.from({ length: 49 }, (_, j) => cosine(normalize(tok.subarray((i * 50 + j + 1) * 512, (i * 50 + j + 2) * 512)), text!))
      reg.similarity.forEach((x, j) => expect(x).toBeCloseTo(sims[j]!, 5))
      expect(Math.max(...reg.similarity) - Math.min(...reg.similarity)).toBeGreaterThan(1e-3)
    }
    // three different photos, three different attention maps
    expect(out[0]!.regions!.weights).not.toEqual(out[1]!.regions!.weights)
  })

  it('the crops route on the same photo gives other regions and other similarities', async () => {
    const [patch] = (await captionFiles(engine, [{ file: files[1]! }], { regions: 'patch', noiseSamples: 0 })).map(ok)
    const [crops] = (await captionFiles(engine, [{ file: files[1]! }], { regions: 'crops', noiseSamples: 0 })).map(ok)
    expect(patch!.regions?.kind).toBe('patch')
    expect(crops!.regions?.kind).toBe('crops')
    if (crops!.regions?.kind !== 'crops') return
    expect(crops!.regions.boxes).toHaveLength(14)
    expect(crops!.regions.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    expect(crops!.regions.similarity).toHaveLength(14)
    const p = patch!.regions!.similarity
    const c = crops!.regions.similarity
    console.info(`chelsea.png: patch similarity ${Math.min(...p).toFixed(3)}..${Math.max(...p).toFixed(3)} (49 patches), crops ${Math.min(...c).toFixed(3)}..${Math.max(...c).toFixed(3)} (14 crops)`)
    const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length
    expect(Math.abs(mean(p) - mean(c))).toBeGreaterThan(1e-4)
  })
})
