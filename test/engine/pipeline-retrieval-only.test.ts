// Captioning with no trained decoder: the fake pack (helpers/fake-pack.ts) with `decoders: []` and a compact
// datastore written through DatastoreWriter; candidates come from retrieval alone and carry their source.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { captionFiles, Engine, type CaptionResult } from '../../src/main/engine/worker'
import { resolveOptions } from '../../src/main/engine/pipeline/options'
import { EngineCandidate } from '../../src/shared/contract/engine'
import { toNewCandidates } from '../../src/main/services/candidates'
import { solid } from './helpers/images'
import { FAKE_SOURCE, writeCompactFakePack, writeFakePack } from './helpers/fake-pack'

let dir: string
let engine: Engine
let withDecoder: Engine
let f32: Engine

const ok = (r: unknown): CaptionResult => {
  if (r && typeof r === 'object' && 'error' in r) throw new Error(`unexpected failure: ${JSON.stringify(r)}`)
  return r as CaptionResult
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'engine-retrieval-only-'))
  await writeCompactFakePack(join(dir, 'pack'), { noDecoder: true, id: 'fake-retrieval' })
  await writeCompactFakePack(join(dir, 'pack-dec'), { id: 'fake-compact' })
  writeFakePack(join(dir, 'pack-f32'))
  engine = await Engine.open(join(dir, 'pack'), { intraOpThreads: 1 })
  withDecoder = await Engine.open(join(dir, 'pack-dec'), { intraOpThreads: 1 })
  f32 = await Engine.open(join(dir, 'pack-f32'), { intraOpThreads: 1 })
  await solid(join(dir, 'red.png'), [220, 30, 30])
  await solid(join(dir, 'blue.png'), [30, 40, 220])
})

afterAll(async () => {
  await engine?.close()
  await withDecoder?.close()
  await f32?.close()
})

describe('a pack without decoders', () => {
  it('resolves to retrieval only: no noise samples, no clean decode, reranked by CLIP-S', () => {
    const o = resolveOptions(engine.pack.json)
    expect(o).toMatchObject({ noiseSamples: 0, cleanSample: false, retrieval: true, rerank: true, rankBy: 'clipS', concepts: true })
    expect(engine.status()).toMatchObject({ decoders: [], defaultDecoder: null, datastoreSize: 8 })
  })

  it('captions by retrieval, every candidate with its source', async () => {
    const out = await captionFiles(engine, [{ file: join(dir, 'red.png') }, { file: join(dir, 'blue.png') }])
    expect(out.map((r) => ok(r).caption)).toEqual(['a red square', 'a blue square'])
    const r = ok(out[0])
    expect(r.candidates.length).toBeGreaterThan(1)
    for (const c of r.candidates) {
      expect(c.source).toBe('retrieval')
      expect(c.provenance.decoder).toBeUndefined()
      expect(c.provenance.retrieval?.source).toEqual({ name: FAKE_SOURCE.name, licence: FAKE_SOURCE.licence, url: FAKE_SOURCE.url })
      // the shared contract keeps the field (valibot objects drop unknown keys)
      expect(v.parse(EngineCandidate, c).provenance.retrieval?.source?.licence).toBe('CC0-1.0')
    }
    for (let i = 1; i < r.candidates.length; i++) expect(r.candidates[i - 1]!.scores.clipS).toBeGreaterThanOrEqual(r.candidates[i]!.scores.clipS)
    expect(r.concepts[0]!.word).toBe('red')
    const stored = toNewCandidates({ imageId: 1, packId: 'fake-retrieval', caption: r.caption, candidates: r.candidates, concepts: r.concepts, regions: r.regions, timings: r.timings, options: r.options })
    expect(stored[0]!.source.params).toMatchObject({ retrievalSource: 'Fake captions, CC0-1.0' })
  })

  it('refuses explicit decoding with a clear error', async () => {
    for (const [opts, what] of [[{ noiseSamples: 4 }, /noiseSamples 4/], [{ cleanSample: true }, /cleanSample/], [{ decoder: 'bigram' }, /decoder "bigram"/]] as const) {
      await expect(captionFiles(engine, [{ file: join(dir, 'red.png') }], opts)).rejects.toMatchObject({ code: 'unsupported', message: expect.stringMatching(what) })
    }
    await expect(captionFiles(engine, [{ file: join(dir, 'red.png') }], { retrieval: false })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/nothing to generate/) })
    // an explicit "no decoding" is fine
    const r = ok((await captionFiles(engine, [{ file: join(dir, 'red.png') }], { noiseSamples: 0, cleanSample: false, retrievalK: 1 }))[0])
    expect(r.candidates).toHaveLength(1)
  })
})

describe('a compact datastore next to a decoder', () => {
  it('retrieves the same rows as the float32 datastore and keeps decoding', async () => {
    const opts = { noiseSamples: 0, cleanSample: false, retrieval: true, retrievalK: 3, rerank: false, align: 'off' as const }
    const a = ok((await captionFiles(withDecoder, [{ file: join(dir, 'red.png') }], opts))[0])
    const b = ok((await captionFiles(f32, [{ file: join(dir, 'red.png') }], opts))[0])
    expect(a.candidates.map((c) => c.text)).toEqual(b.candidates.map((c) => c.text))
    a.candidates.forEach((c, i) => expect(c.provenance.retrieval!.similarity).toBeCloseTo(b.candidates[i]!.provenance.retrieval!.similarity, 2))
    expect(b.candidates[0]!.provenance.retrieval!.source).toBeUndefined() // the float32 pack declares no source
    const full = ok((await captionFiles(withDecoder, [{ file: join(dir, 'red.png') }], { seed: 7 }))[0])
    expect(full.caption).toBe('a red square')
    expect(full.candidates.some((c) => c.provenance.decoder)).toBe(true)
  })
})
