// Unit tests (Node): the evaluation harness with a fake backend — split loading, scoring of failures,
// truth and CLIP-S aggregation, the ablation plan, and the markdown report. No models, no timing assertions.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { PackJson, type CaptionOptions } from '../../src/main/engine/worker'
import { ablationPlan, selectConfigs } from '../../src/main/eval/configs'
import { clipCacheFor, runConfig, splitFromFolder, type EvalBackend } from '../../src/main/eval/harness'
import { machineInfo } from '../../src/main/eval/machine'
import { resultsMarkdown } from '../../src/main/eval/report'
import { referenceTruth, scoreLeaveOneOut, scoreRun, type SplitData } from '../../src/main/eval/score'
import type { Scene } from '../../src/main/eval/shapesworld-truth'
import { tempDir } from '../fixtures/images'

const sceneA: Scene = { background: 'gray', objects: [{ shape: 'square', colour: 'red', size: 'large', x: 20, y: 20 }] }
const sceneB: Scene = { background: 'black', objects: [{ shape: 'circle', colour: 'red', size: 'small', x: 30, y: 30 }] }

function folder(): { dir: string; refs: Map<string, string[]>; scenes: Map<string, Scene> } {
  const dir = tempDir('eval')
  for (const f of ['b.png', 'a.png', 'c.png', 'notes.txt']) writeFileSync(join(dir, f), 'x')
  const refs = new Map([
    ['a.png', ['a red square', 'a large red square', 'one shape on a gray background']],
    ['b.png', ['a red circle', 'a small red circle', 'a single red circle']]
  ])
  const scenes = new Map([
    ['a.png', sceneA],
    ['b.png', sceneB]
  ])
  return { dir, refs, scenes }
}

/** Captions from a table; embeddings: images and texts mapped to fixed 2-D vectors by their first word. */
function fakeBackend(captions: Record<string, string | null>, calls: CaptionOptions[] = []): EvalBackend {
  const vec = (s: string) => (s.includes('square') ? [1, 0] : s.includes('circle') ? [0.6, 0.8] : [0, 1])
  return {
    warm: async () => {},
    caption: async (files, options) => {
      calls.push(options)
      return files.map((file) => {
        const c = captions[file.split('/').pop()!] ?? null
        return c === null ? { file, caption: null, error: 'decode_error: broken' } : { file, caption: c }
      })
    },
    embedImages: async (files) => files.map((f) => (f.endsWith('a.png') ? [1, 0] : [0.6, 0.8])),
    embedTexts: async (texts) => texts.map(vec),
    describe: () => ({ provider: 'cpu', pack: 'fake@1' }),
    close: async () => {}
  }
}

describe('splitFromFolder', () => {
  it('keeps images with references, sorted by name, and honours the limit', () => {
    const { dir, refs, scenes } = folder()
    const s = splitFromFolder('t', dir, refs, scenes)
    expect(s.keys).toEqual(['a.png', 'b.png'])
    expect(s.files[0]).toBe(join(dir, 'a.png'))
    expect(splitFromFolder('t', dir, refs, scenes, 1).keys).toEqual(['a.png'])
  })
  it('refuses a folder where an image lacks a scene', () => {
    const { dir, refs } = folder()
    expect(() => splitFromFolder('t', dir, refs, new Map([['a.png', sceneA]]))).toThrow(/1 image\(s\) without a scene, e\.g\. b\.png/)
  })
})

describe('scoreRun', () => {
  const { dir, refs, scenes } = folder()
  const split: SplitData = splitFromFolder('t', dir, refs, scenes)
  it('scores truth and held-out naming per the scenes, and failures as empty false captions', () => {
    const s = scoreRun(split, ['a red square', 'a red circle'])
    expect(s.truth).toBe(1)
    expect(s.heldOutNamed).toBe(1) // only b.png has a held-out pair (red circle), and it is named
    expect(s.failed).toBe(0)
    const f = scoreRun(split, ['a blue square', null])
    expect(f.truth).toBe(0)
    expect(f.failed).toBe(1)
    expect(f.heldOutNamed).toBe(0)
    expect(f.ciderD).toBeLessThan(s.ciderD)
  })
  it('averages CLIP-S over images from the given embeddings', () => {
    // a.png: image [1,0], caption [1,0] → 2.5; b.png: image [0.6,0.8], caption [0,1] → 2.5·0.8 = 2.0 → mean 2.25
    const s = scoreRun(split, ['x', 'y'], { images: [[1, 0], [0.6, 0.8]], captions: [[1, 0], [0, 1]], refs: [[[1, 0]], [[0, 1]]] })
    expect(s.clipS).toBeCloseTo(2.25, 12)
    // RefCLIP-S: H(2.5, 1) = 5/3.5 and H(2.0, 1) = 4/3 → mean
    expect(s.refClipS).toBeCloseTo((5 / 3.5 + 4 / 3) / 2, 12)
  })
  it('scores the leave-one-out reference row and checks the references against the checker', () => {
    const r = scoreLeaveOneOut(split)
    expect(r.truth).toBe(1)
    expect(referenceTruth(split)).toBe(1)
  })
})

describe('runConfig', () => {
  it('captions through the backend in split order and scores the result', async () => {
    const { dir, refs, scenes } = folder()
    const split = splitFromFolder('t', dir, refs, scenes)
    const calls: CaptionOptions[] = []
    const backend = () => Promise.resolve(fakeBackend({ 'a.png': 'a red square', 'b.png': null }, calls))
    const clip = await clipCacheFor(await backend(), split)
    expect(clip.refs.map((r) => r.length)).toEqual([3, 3])
    const r = await runConfig(backend, split, { name: 'x', description: '', options: { regions: 'off' } }, clip)
    expect(calls).toEqual([{ regions: 'off' }])
    expect(r.captions).toEqual([
      { key: 'a.png', caption: 'a red square' },
      { key: 'b.png', caption: null, error: 'decode_error: broken' }
    ])
    expect(r.scores.truth).toBe(0.5)
    expect(r.scores.failed).toBe(1)
    expect(r.scores.clipS).toBeCloseTo(1.25, 12) // a.png 2.5, failed b.png 0
    expect(Number.isFinite(r.msPerImage)).toBe(true)
  })
})

const packJson = (decoders: { id: string; noiseVariance: number }[], extra: Record<string, unknown> = {}) =>
  v.parse(PackJson, {
    format: 'caption-studio-pack/1',
    id: 'fake',
    version: '1',
    embedDim: 2,
    preprocess: { size: 8, resize: 'shortest-edge', kernel: 'cubic', mean: [0, 0, 0], std: [1, 1, 1] },
    tokenizer: { file: 't.json', type: 'word' },
    models: {
      image: { file: 'i.onnx', roles: { pixels: 'p', embeds: 'e' }, inputs: [{ name: 'p', shape: ['batch', 3, 8, 8], dtype: 'float32' }], outputs: [{ name: 'e', shape: ['batch', 2], dtype: 'float32' }] },
      text: { file: 'x.onnx', roles: { ids: 'i', embeds: 'e' }, inputs: [{ name: 'i', shape: ['batch', 'seq'], dtype: 'int64' }], outputs: [{ name: 'e', shape: ['batch', 2], dtype: 'float32' }] }
    },
    decoders: decoders.map((d) => ({ ...d, file: `${d.id}.onnx`, kind: 'prefix-tokens', roles: { prefix: 'p', ids: 'i', logits: 'l' }, inputs: [{ name: 'p', shape: ['batch', 2], dtype: 'float32' }, { name: 'i', shape: ['batch', 'seq'], dtype: 'int64' }], outputs: [{ name: 'l', shape: ['batch', 'seq', 'vocab'], dtype: 'float32' }] })),
    files: [{ path: 't.json', bytes: 1, sha256: '0'.repeat(64) }],
    ...extra
  })

describe('ablationPlan', () => {
  it('lists every row of the issue when the pack has everything', () => {
    const arr = { file: 'a.f32', shape: [2, 2] }
    const pack = packJson([{ id: 'plain', noiseVariance: 0 }, { id: 'n016', noiseVariance: 0.016 }], { arrays: { datastore: arr, concepts: arr, realignProcrustes: arr, realignRidge: arr } })
    const plan = ablationPlan(pack)
    const names = plan.map((p) => ('config' in p ? p.config.name : `skipped ${p.name}`))
    expect(names).toEqual(['retrieval', 'dec σ²=0', 'dec σ²=0.016', '+ patch', '+ crops', '+ patch + 8 noise + rerank', 'dec σ²=0 + memory (DeCap)', 'dec σ²=0.016 + memory', '+ patch + memory', '+ patch + 8 noise + rerank + memory', '+ procrustes prefix', '+ ridge prefix', '+ retrieval', '+ procrustes', '+ ridge', '+ mix-up', 'default'])
    const get = (n: string) => plan.flatMap((p) => ('config' in p && p.config.name === n ? [p.config.options] : []))[0]!
    expect(get('dec σ²=0')).toMatchObject({ decoder: 'plain', noiseSamples: 1, noiseVariance: 0, regions: 'off', rerank: false, retrieval: false })
    expect(get('retrieval')).toMatchObject({ noiseSamples: 0, retrieval: true, retrievalK: 1, align: 'off' })
    expect(get('+ ridge')).toMatchObject({ decoder: 'n016', noiseSamples: 8, noiseVariance: 0.016, rerank: true, retrieval: true, align: 'ridge', rankBy: 'aclipS' })
    expect(get('+ retrieval')).toMatchObject({ align: 'off', rankBy: 'clipS' })
    expect(get('+ ridge prefix')).toMatchObject({ align: 'ridge', alignPrefix: true, retrieval: false, rankBy: 'clipS', noiseSamples: 8 })
    expect(get('dec σ²=0 + memory (DeCap)')).toMatchObject({ decoder: 'plain', noiseSamples: 1, noiseVariance: 0, memoryProjection: true, regions: 'off' })
    expect(get('+ patch + memory')).toMatchObject({ decoder: 'n016', noiseSamples: 1, noiseVariance: 0, memoryProjection: true, regions: 'patch' })
    expect(get('+ patch + 8 noise + rerank + memory')).toEqual({ ...get('+ patch + 8 noise + rerank'), memoryProjection: true })
    expect(get('+ patch + 8 noise + rerank').memoryProjection).toBe(false)
    expect(get('default')).toEqual({})
    expect(selectConfigs(plan, ['+ RIDGE']).map((p) => ('config' in p ? p.config.name : ''))).toEqual(['+ ridge'])
    expect(selectConfigs(plan, ['ridge']).map((p) => ('config' in p ? p.config.name : ''))).toEqual(['+ ridge prefix', '+ ridge'])
    expect(selectConfigs(plan, ['retrieval']).map((p) => ('config' in p ? p.config.name : ''))).toEqual(['retrieval'])
    expect(selectConfigs(plan, ['retriev']).map((p) => ('config' in p ? p.config.name : ''))).toEqual(['retrieval', '+ retrieval'])
    expect(() => selectConfigs(plan, ['nope'])).toThrow(/no configuration matches/)
  })
  it('skips rows the pack cannot run, with the reason', () => {
    const plan = ablationPlan(packJson([{ id: 'n016', noiseVariance: 0.016 }]))
    expect(plan.filter((p) => 'skipped' in p).map((p) => ('skipped' in p ? `${p.name}: ${p.skipped}` : ''))).toEqual([
      'retrieval: pack has no datastore',
      'dec σ²=0: pack has no σ² = 0 decoder',
      'dec σ²=0 + memory (DeCap): pack has no σ² = 0 decoder',
      'dec σ²=0.016 + memory: pack has no datastore to project onto',
      '+ patch + memory: pack has no datastore to project onto',
      '+ patch + 8 noise + rerank + memory: pack has no datastore to project onto',
      '+ procrustes prefix: pack has no procrustes matrix',
      '+ ridge prefix: pack has no ridge matrix',
      '+ procrustes: pack has no procrustes matrix or no datastore',
      '+ ridge: pack has no ridge matrix or no datastore',
      '+ mix-up: pack has no concept vocabulary'
    ])
  })
})

describe('resultsMarkdown', () => {
  it('renders one table per split with the machine, the command and every configuration', async () => {
    const { dir, refs, scenes } = folder()
    const split = splitFromFolder('test', dir, refs, scenes)
    const r = await runConfig(() => Promise.resolve(fakeBackend({ 'a.png': 'a red square', 'b.png': 'a red circle' })), split, { name: 'plain', description: 'd', options: {} }, null)
    const md = resultsMarkdown({
      title: 'T',
      command: 'npm run eval',
      machine: machineInfo(process.cwd()),
      pack: 'fake@1',
      provider: 'cpu',
      splits: [{ name: 'test', images: 2, available: 2, reference: scoreLeaveOneOut(split) }],
      plan: [{ config: { name: 'plain', description: 'd', options: {} } }, { name: 'other', skipped: 'why' }],
      runs: [r],
      notes: ['n']
    })
    expect(md).toContain('## test (all 2 images)')
    expect(md).toContain('| configuration | CIDEr-D | BLEU-4 | ROUGE-L | truth | held-out named | CLIP-S | RefCLIP-S | decoder picks | ms / image | failed |')
    expect(md).toMatch(/\| plain \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 1\.000 \| 1\.000 \| – \| – \| – \| [\d.]+ \| 0 \|/)
    expect(md).toContain('- **other** — skipped: why')
    expect(md).toContain('`npm run eval`')
  })
})
