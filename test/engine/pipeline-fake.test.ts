// Engine pipeline on a hand-made ONNX pack (helpers/fake-pack.ts): runs in-process, no trained models needed.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerQuestion, captionFiles, Engine, regionSimilarityFor, type CaptionResult } from '../../src/main/engine/worker'
import { notAnImage, shapeImage, solid, truncated } from './helpers/images'
import { writeFakePack } from './helpers/fake-pack'

let dir: string
let packDir: string
let engine: Engine

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'engine-fake-'))
  packDir = join(dir, 'pack')
  writeFakePack(packDir)
  engine = await Engine.open(packDir, { providers: ['cuda', 'cpu'], intraOpThreads: 1 })
  await solid(join(dir, 'red.png'), [220, 30, 30])
  await solid(join(dir, 'blue.png'), [30, 40, 220])
  await solid(join(dir, 'green.jpg'), [30, 200, 40], 40, 'jpeg')
})

afterAll(async () => {
  await engine?.close()
})

const ok = (r: unknown): CaptionResult => {
  if (r && typeof r === 'object' && 'error' in r) throw new Error(`unexpected failure: ${JSON.stringify(r)}`)
  return r as CaptionResult
}

describe('fake pack pipeline', () => {
  it('falls back from CUDA to CPU and reports it', async () => {
    expect(await engine.provider()).toBe('cpu')
    const st = engine.status()
    expect(st.provider).toBe('cpu')
    expect(st.providerAttempts.map((a) => a.provider)).toContain('cuda')
    expect(st.providerAttempts[0]!.error.length).toBeGreaterThan(0)
  })

  it('captions solid colours with the matching colour word', async () => {
    const out = await captionFiles(engine, ['red.png', 'blue.png', 'green.jpg'].map((f) => ({ file: join(dir, f) })), { seed: 7 })
    expect(out.map((r) => ok(r).caption)).toEqual(['a red square', 'a blue square', 'a green square'])
    const r = ok(out[0])
    expect(r.candidates.length).toBeGreaterThan(1)
    for (let i = 1; i < r.candidates.length; i++) expect(r.candidates[i - 1]!.score).toBeGreaterThanOrEqual(r.candidates[i]!.score)
    expect(r.candidates.some((c) => c.source !== 'decoder')).toBe(true)
    expect(r.concepts[0]!.word).toBe('red')
    expect(r.regions?.kind).toBe('patch')
    for (const k of ['preprocess', 'imageEncoder', 'decode', 'retrieval', 'textEncoder', 'rerank', 'total']) expect(r.timings[k]).toBeGreaterThanOrEqual(0)
  })

  it('is deterministic for a seed and varies with it', async () => {
    const opts = { noiseSamples: 8, noiseVariance: 0.5, cleanSample: false, retrieval: false, rerank: false }
    const a = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { ...opts, seed: 3 }))[0])
    const b = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { ...opts, seed: 3 }))[0])
    expect(b.candidates).toEqual(a.candidates)
    const seeds = new Set<string>()
    for (const seed of [1, 2, 3, 4, 5]) {
      const c = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { ...opts, seed }))[0])
      seeds.add(c.candidates.map((x) => x.text).join('|'))
    }
    expect(seeds.size).toBeGreaterThan(1)
  })

  it('keeps going past bad files with clear per-file errors', async () => {
    await shapeImage(join(dir, 'odd #name ünï.png'), { shape: 'square', fill: 'rgb(40,80,225)' })
    notAnImage(join(dir, 'notes.png'))
    await truncated(join(dir, 'cut.png'))
    await solid(join(dir, 'one.png'), [220, 30, 30], 1)
    const files = ['notes.png', 'cut.png', 'one.png', 'missing.png', 'odd #name ünï.png', 'red.png'].map((f) => ({ file: join(dir, f) }))
    const out = await captionFiles(engine, files)
    const errs = out.map((r) => ('error' in r ? r.error : null))
    expect(errs[0]).toMatchObject({ code: 'decode_error' })
    expect(errs[0]!.message).toMatch(/notes\.png: not an image/)
    expect(errs[1]).toMatchObject({ code: 'decode_error' })
    expect(errs[1]!.message).toMatch(/cut\.png/)
    expect(ok(out[2]).caption).toBe('a red square')
    expect(errs[3]).toMatchObject({ code: 'not_found' })
    expect(ok(out[4]).caption).toMatch(/^a (blue|red|green) square$/)
    expect(ok(out[5]).caption).toBe('a red square')
  })

  it('beam search finds a hypothesis at least as likely as greedy', async () => {
    const opts = { noiseSamples: 0, cleanSample: true, retrieval: false, regions: 'off' as const }
    const g = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { ...opts, beam: 1 }))[0])
    const b = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { ...opts, beam: 3 }))[0])
    expect(b.caption).toBe('a red square')
    expect(b.candidates[0]!.provenance.decoder!.logProb).toBeGreaterThanOrEqual(g.candidates[0]!.provenance.decoder!.logProb - 1e-6)
    expect(b.candidates[0]!.provenance.decoder!.beam).toBe(3)
  })

  it('mix-up and a realigned prefix run and keep the caption', async () => {
    const r = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { mixup: true, alignPrefix: true, seed: 2 }))[0])
    expect(r.caption).toBe('a red square')
    expect(r.options.mixup).toBe(true)
    const plain = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { regions: 'patch', mixup: false, seed: 2 }))[0])
    // Mixing patches toward their concept changes the region weights the heatmap reports.
    expect(r.regions?.similarity).not.toEqual(plain.regions?.similarity)
  })

  it('crops route returns 14 boxes with weights summing to 1', async () => {
    const r = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { regions: 'crops' }))[0])
    expect(r.regions?.kind).toBe('crops')
    if (r.regions?.kind !== 'crops') return
    expect(r.regions.boxes).toHaveLength(14)
    expect(r.regions.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    expect(r.regions.similarity).toHaveLength(14)
  })

  it('region similarity and VQA rank the right colour first', async () => {
    const rs = await regionSimilarityFor(engine, join(dir, 'red.png'), ['a red square', 'a blue square'], 'patch')
    expect(rs.heatmap.kind).toBe('patch')
    expect(rs.captions[0]!.regions).toHaveLength(4)
    expect(rs.captions[0]!.global).toBeGreaterThan(rs.captions[1]!.global)
    const vqa = await answerQuestion(engine, join(dir, 'blue.png'), { question: 'What colour is the square?' })
    expect(vqa.type).toBe('colour')
    expect(vqa.answers[0]!.answer).toBe('blue')
    expect(vqa.answers[0]!.statement).toBe('a blue square')
  })
})
