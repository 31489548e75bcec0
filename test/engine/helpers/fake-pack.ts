// Tests only (plain Node). Writes a tiny but complete `caption-studio-pack/1` pack built from hand-made ONNX
// graphs (onnx-builder.ts), so the engine's mechanics (verification, contract checks, preprocessing,
// encoders, regions, noisy decoding, retrieval, scoring, worker) are tested without the trained demo pack.
// The models are transparent: the image embedding is a linear map of the per-channel means (red → dim 0,
// green → dim 1, blue → dim 2, plus a constant "square" direction), text embeddings are sums of word
// vectors, and the decoder is a bigram table plus a prefix term that chooses the colour word, so
// "a red square" is what a red image should decode to.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildModel } from './onnx-builder'
import { DatastoreWriter } from '../../../src/main/engine/packs/datastore-writer'

export const D = 8
export const SIZE = 16
export const VOCAB = ['<pad>', '<bos>', '<eos>', '<unk>', 'a', 'red', 'green', 'blue', 'square', 'circle', 'small', 'large', 'shape', 'shapes', 'two', 'one', 'three', 'on', 'gray', 'background', 'single']
const id = (w: string) => VOCAB.indexOf(w)

/** Word vectors of the fake text tower (rows of the embedding table). */
export function wordVector(w: string): Float32Array {
  const v = new Float32Array(D)
  const axis: Record<string, number> = { red: 0, green: 1, blue: 2, square: 3, circle: 4, a: 5, small: 6, large: 6, gray: 7, background: 7 }
  const k = axis[w]
  if (k !== undefined) v[k] = w === 'a' ? 0.1 : w === 'large' ? -1 : 1
  else if (!['<pad>', '<bos>', '<eos>'].includes(w)) v[7] = 0.2
  return v
}

export function textEmbedding(text: string): Float32Array {
  const v = new Float32Array(D)
  for (const w of text.toLowerCase().split(/\s+/).filter(Boolean)) {
    const wv = wordVector(VOCAB.includes(w) ? w : '<unk>')
    for (let k = 0; k < D; k++) v[k]! += wv[k]!
  }
  const n = Math.hypot(...v) || 1
  return v.map((x) => x / n)
}

function imageEncoder(): Uint8Array {
  const W = new Float32Array(3 * D)
  W[0 * D + 0] = 1
  W[1 * D + 1] = 1
  W[2 * D + 2] = 1
  const bias = new Float32Array(D)
  bias[3] = 0.3
  return buildModel({
    inputs: [{ name: 'pixel_values', type: 'float32', shape: ['batch', 3, SIZE, SIZE] }],
    outputs: [
      { name: 'image_embeds', type: 'float32', shape: ['batch', D] },
      { name: 'token_embeds', type: 'float32', shape: ['batch', 5, D] },
      { name: 'cls_attention', type: 'float32', shape: ['batch', 5, 5] }
    ],
    inits: [
      { name: 'W', dims: [3, D], data: W },
      { name: 'bias', dims: [D], data: bias },
      { name: 'shape3', dims: [3], data: new BigInt64Array([0n, 3n, 4n]) },
      { name: 'ax1', dims: [1], data: new BigInt64Array([1n]) }
    ],
    nodes: [
      { op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['m'], attrs: { axes: [2, 3], keepdims: 0 } },
      { op: 'MatMul', inputs: ['m', 'W'], outputs: ['mw'] },
      { op: 'Add', inputs: ['mw', 'bias'], outputs: ['image_embeds'] },
      { op: 'AveragePool', inputs: ['pixel_values'], outputs: ['pool'], attrs: { kernel_shape: [SIZE / 2, SIZE / 2], strides: [SIZE / 2, SIZE / 2] } },
      { op: 'Reshape', inputs: ['pool', 'shape3'], outputs: ['pr'] },
      { op: 'Transpose', inputs: ['pr'], outputs: ['pt'], attrs: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['pt', 'W'], outputs: ['pw'] },
      { op: 'Add', inputs: ['pw', 'bias'], outputs: ['patches'] },
      { op: 'Unsqueeze', inputs: ['image_embeds', 'ax1'], outputs: ['cls'] },
      { op: 'Concat', inputs: ['cls', 'patches'], outputs: ['token_embeds'], attrs: { axis: 1 } },
      { op: 'Transpose', inputs: ['token_embeds'], outputs: ['tt'], attrs: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['token_embeds', 'tt'], outputs: ['gram'] },
      { op: 'Softmax', inputs: ['gram'], outputs: ['cls_attention'], attrs: { axis: -1 } }
    ]
  })
}

function textEncoder(outputName = 'text_embeds'): Uint8Array {
  const E = new Float32Array(VOCAB.length * D)
  VOCAB.forEach((w, i) => E.set(wordVector(w), i * D))
  return buildModel({
    inputs: [
      { name: 'input_ids', type: 'int64', shape: ['batch', 'seq'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch', 'seq'] }
    ],
    outputs: [{ name: outputName, type: 'float32', shape: ['batch', D] }],
    inits: [
      { name: 'E', dims: [VOCAB.length, D], data: E },
      { name: 'axm1', dims: [1], data: new BigInt64Array([-1n]) },
      { name: 'ax1', dims: [1], data: new BigInt64Array([1n]) }
    ],
    nodes: [
      { op: 'Gather', inputs: ['E', 'input_ids'], outputs: ['emb'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: 1 } },
      { op: 'Unsqueeze', inputs: ['mf', 'axm1'], outputs: ['mu'] },
      { op: 'Mul', inputs: ['emb', 'mu'], outputs: ['masked'] },
      { op: 'ReduceSum', inputs: ['masked', 'ax1'], outputs: [outputName], attrs: { keepdims: 0 } }
    ]
  })
}

function decoder(): Uint8Array {
  const V = VOCAB.length
  const P = new Float32Array(D * V)
  // The prefix picks the colour word (dims 0..2) and, weakly, the shape (dims 3, 4).
  P[0 * V + id('red')] = 6
  P[1 * V + id('green')] = 6
  P[2 * V + id('blue')] = 6
  P[3 * V + id('square')] = 2
  P[4 * V + id('circle')] = 2
  const T = new Float32Array(V * V).fill(-8)
  const set = (from: string, to: string, x: number) => (T[id(from) * V + id(to)] = x)
  set('<bos>', 'a', 10)
  for (const c of ['red', 'green', 'blue']) {
    set('a', c, 0)
    set(c, 'square', 10)
    set(c, 'circle', 9)
  }
  set('square', '<eos>', 12)
  set('circle', '<eos>', 12)
  for (const w of VOCAB) if (T[id(w) * V + id('<eos>')] === -8) T[id(w) * V + id('<eos>')] = 0
  return buildModel({
    inputs: [
      { name: 'prefix', type: 'float32', shape: ['batch', D] },
      { name: 'input_ids', type: 'int64', shape: ['batch', 'seq'] }
    ],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'seq', V] }],
    inits: [
      { name: 'P', dims: [D, V], data: P },
      { name: 'T', dims: [V, V], data: T },
      { name: 'ax1', dims: [1], data: new BigInt64Array([1n]) }
    ],
    nodes: [
      { op: 'MatMul', inputs: ['prefix', 'P'], outputs: ['pp'] },
      { op: 'Unsqueeze', inputs: ['pp', 'ax1'], outputs: ['pu'] },
      { op: 'Gather', inputs: ['T', 'input_ids'], outputs: ['tg'], attrs: { axis: 0 } },
      { op: 'Add', inputs: ['pu', 'tg'], outputs: ['logits'] }
    ]
  })
}

function f32(a: Float32Array): Buffer {
  const b = Buffer.alloc(a.length * 4)
  a.forEach((x, i) => b.writeFloatLE(x, i * 4))
  return b
}

export const DATASTORE = ['a red square', 'a green square', 'a blue square', 'a red circle', 'a green circle', 'a blue circle', 'two shapes', 'a small red square']
export const CONCEPTS = [
  { word: 'red', category: 'colour' },
  { word: 'green', category: 'colour' },
  { word: 'blue', category: 'colour' },
  { word: 'square', category: 'shape' },
  { word: 'circle', category: 'shape' }
]

export interface FakePackOptions {
  /** Name the text encoder's output differently from pack.json (an I/O contract mismatch). */
  textOutputName?: string
  defaults?: Record<string, unknown>
  /** pack.json id (default "fake"). */
  id?: string
}

export function writeFakePack(dir: string, opts: FakePackOptions = {}): void {
  mkdirSync(dir, { recursive: true })
  const identity = new Float32Array(D * D)
  for (let i = 0; i < D; i++) identity[i * D + i] = 1
  const files: Record<string, Buffer> = {
    'image_encoder.onnx': Buffer.from(imageEncoder()),
    'text_encoder.onnx': Buffer.from(textEncoder(opts.textOutputName)),
    'decoder.onnx': Buffer.from(decoder()),
    'tokenizer.json': Buffer.from(JSON.stringify({ type: 'word', vocab: VOCAB, pad: 0, bos: 1, eos: 2, unk: 3, maxLength: 12, lowercase: true })),
    'datastore.f32': f32(Float32Array.from(DATASTORE.flatMap((c) => [...textEmbedding(c)]))),
    'datastore_captions.json': Buffer.from(JSON.stringify(DATASTORE)),
    'concepts.f32': f32(Float32Array.from(CONCEPTS.flatMap((c) => [...textEmbedding(c.word)]))),
    'concepts.json': Buffer.from(JSON.stringify(CONCEPTS)),
    'realign_procrustes.f32': f32(identity),
    'realign_ridge.f32': f32(identity)
  }
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data)
  const pack = {
    format: 'caption-studio-pack/1',
    id: opts.id ?? 'fake',
    version: '0.0.1',
    licence: 'MIT',
    embedDim: D,
    preprocess: { size: SIZE, resize: 'shortest-edge', kernel: 'cubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    tokenizer: { file: 'tokenizer.json', type: 'word' },
    models: {
      image: {
        file: 'image_encoder.onnx',
        roles: { pixels: 'pixel_values', embeds: 'image_embeds', tokens: 'token_embeds', attention: 'cls_attention' },
        patchGrid: [2, 2],
        inputs: [{ name: 'pixel_values', shape: ['batch', 3, SIZE, SIZE], dtype: 'float32' }],
        outputs: [
          { name: 'image_embeds', shape: ['batch', D], dtype: 'float32' },
          { name: 'token_embeds', shape: ['batch', 5, D], dtype: 'float32' },
          { name: 'cls_attention', shape: ['batch', 5, 5], dtype: 'float32' }
        ]
      },
      text: {
        file: 'text_encoder.onnx',
        roles: { ids: 'input_ids', mask: 'attention_mask', embeds: 'text_embeds' },
        inputs: [
          { name: 'input_ids', shape: ['batch', 'seq'], dtype: 'int64' },
          { name: 'attention_mask', shape: ['batch', 'seq'], dtype: 'int64' }
        ],
        outputs: [{ name: 'text_embeds', shape: ['batch', D], dtype: 'float32' }]
      }
    },
    decoders: [
      {
        id: 'bigram',
        file: 'decoder.onnx',
        noiseVariance: 0.016,
        kind: 'prefix-tokens',
        roles: { prefix: 'prefix', ids: 'input_ids', logits: 'logits' },
        inputs: [
          { name: 'prefix', shape: ['batch', D], dtype: 'float32' },
          { name: 'input_ids', shape: ['batch', 'seq'], dtype: 'int64' }
        ],
        outputs: [{ name: 'logits', shape: ['batch', 'seq', 'vocab'], dtype: 'float32' }]
      }
    ],
    defaultDecoder: 'bigram',
    arrays: {
      datastore: { file: 'datastore.f32', shape: [DATASTORE.length, D] },
      concepts: { file: 'concepts.f32', shape: [CONCEPTS.length, D] },
      realignProcrustes: { file: 'realign_procrustes.f32', shape: [D, D] },
      realignRidge: { file: 'realign_ridge.f32', shape: [D, D] }
    },
    datastore: { captions: 'datastore_captions.json' },
    concepts: { file: 'concepts.json' },
    defaults: { regions: 'patch', topK: 2, noiseSamples: 4, beam: 1, maxLength: 8, retrieval: true, retrievalK: 2, align: 'ridge', rerank: true, ...opts.defaults },
    files: Object.entries(files).map(([path, data]) => ({ path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }))
  }
  writeFileSync(join(dir, 'pack.json'), JSON.stringify(pack, null, 2))
}

export const FAKE_SOURCE = { id: 0, name: 'Fake captions', licence: 'CC0-1.0', url: 'https://example.invalid/fake' }

export interface CompactFakePackOptions extends FakePackOptions {
  /** Drop the decoder: a retrieval-only pack (`decoders: []`). */
  noDecoder?: boolean
  /** Datastore captions (default DATASTORE); embedded with textEmbedding. */
  captions?: string[]
  index?: 'auto' | 'always' | 'never'
}

/**
 * The fake pack with its float32 datastore replaced by a compact one written through DatastoreWriter (the
 * pack builder's API), optionally without any decoder.
 */
export async function writeCompactFakePack(dir: string, opts: CompactFakePackOptions = {}): Promise<void> {
  writeFakePack(dir, opts)
  const pack = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as { arrays: Record<string, unknown>; decoders: unknown[]; defaultDecoder?: string; datastore?: unknown; files: { path: string }[] }
  const drop = new Set(['datastore.f32', 'datastore_captions.json', ...(opts.noDecoder ? ['decoder.onnx'] : [])])
  for (const f of drop) rmSync(join(dir, f))
  delete pack.arrays.datastore
  if (opts.noDecoder) {
    pack.decoders = []
    delete pack.defaultDecoder
  }
  const captions = opts.captions ?? DATASTORE
  const w = await DatastoreWriter.create(dir, { dim: D, sources: [FAKE_SOURCE], index: opts.index ?? 'never' })
  await w.add(captions, Float32Array.from(captions.flatMap((c) => [...textEmbedding(c)])), 0)
  const res = await w.finish()
  pack.datastore = res.datastore
  pack.files = [...pack.files.filter((f) => !drop.has(f.path)), ...res.files]
  writeFileSync(join(dir, 'pack.json'), JSON.stringify(pack, null, 2))
}
