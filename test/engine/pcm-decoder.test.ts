// The engine runs a `pcm-net` decoder (PCM-Net, tools/modelkit/pcm_net.py): schema, greedy decoding against
// torch, the mix-up map against the graph's own selection, and the caption pipeline's provenance. Uses the
// random-weight fixture of tools/modelkit/make_pcm_fixture.py added to a copy of the demo pack.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captionFiles, Engine, type CaptionResult } from '../../src/main/engine/worker'
import { AnyDecoderSpec } from '../../src/main/engine/packs/pack-schema'
import { mixMap } from '../../src/main/engine/pipeline/pcm'
import { rows } from '../../src/main/engine/math/linalg'
import { toNewCandidates } from '../../src/main/services/candidates'

const PACK = resolve(__dirname, '../../models/shapes-demo')
const FIX = resolve(__dirname, '../fixtures/pcm-decoder')
const present = existsSync(join(PACK, 'pack.json'))
const fixture = JSON.parse(readFileSync(join(FIX, 'fixture.json'), 'utf8')) as {
  entry: Record<string, unknown> & { id: string; file: string }
  expect: { greedyIds: number[][]; maxLength: number; mixed: { patch: number; concept: number }[][] }
}
const D = 128
const f32 = (f: string) => {
  const b = readFileSync(join(FIX, f))
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}
const tokens = f32('tokens.f32') // [2, 65, 128]
const concepts = f32('concepts.f32') // [2, 5, 128]

describe('pcm-net decoder entries', () => {
  it('parse with tokens/concepts/ids/logits roles and are refused without them', () => {
    expect(v.safeParse(AnyDecoderSpec, fixture.entry).success).toBe(true)
    const noTokens = { ...fixture.entry, roles: { prefix: 'tokens', ids: 'input_ids', logits: 'logits' } }
    expect(v.safeParse(AnyDecoderSpec, noTokens).success).toBe(false)
  })
})

describe.skipIf(!present)('engine with a pcm-net decoder', () => {
  let tmp: string
  let engine: Engine
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'pcm-pack-'))
    cpSync(PACK, tmp, { recursive: true })
    cpSync(join(FIX, fixture.entry.file), join(tmp, fixture.entry.file))
    const pj = JSON.parse(readFileSync(join(tmp, 'pack.json'), 'utf8')) as { decoders: unknown[]; files: { path: string; bytes: number; sha256: string }[] }
    const bytes = readFileSync(join(tmp, fixture.entry.file))
    pj.decoders.push(fixture.entry)
    pj.files.push({ path: fixture.entry.file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })
    writeFileSync(join(tmp, 'pack.json'), JSON.stringify(pj))
    engine = await Engine.open(tmp, { providers: ['cpu'], intraOpThreads: 1 })
  })
  afterAll(async () => {
    await engine?.close()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('decodes greedily to the ids torch decodes from the same tokens and concepts', async () => {
    const inputs = [0, 1].map((b) => ({ tokens: tokens.subarray(b * 65 * D, (b + 1) * 65 * D), concepts: concepts.subarray(b * 5 * D, (b + 1) * 5 * D) }))
    const out = await engine.decodePcm(fixture.entry.id, inputs, { beam: 1, maxLength: fixture.expect.maxLength })
    expect(out.map((d) => d.ids)).toEqual(fixture.expect.greedyIds)
  })

  it('maps the mixed patches and their concepts as the graph selects them', () => {
    for (const b of [0, 1]) {
      const toks = rows(tokens.subarray(b * 65 * D, (b + 1) * 65 * D), 65, D)
      const cons = rows(concepts.subarray(b * 5 * D, (b + 1) * 5 * D), 5, D)
      const m = mixMap(toks, cons, ['c0', 'c1', 'c2', 'c3', 'c4'], [8, 8], 2, 2)
      expect(m.grid).toEqual([4, 4])
      expect(m.mixed).toEqual(fixture.expect.mixed[b]!.map((x) => ({ patch: x.patch, concept: `c${x.concept}` })))
    }
  })

  it('captions through the pipeline with provenance naming the kind and the mixed patches', async () => {
    const samples = join(PACK, 'samples')
    const files = ['test_00000.png', 'test_00001.png'].map((f) => join(samples, f))
    const res = (await captionFiles(engine, files.map((file) => ({ file })), { decoder: fixture.entry.id, regions: 'off', retrieval: true, retrievalK: 1, noiseSamples: 0, cleanSample: true, align: 'off' })) as CaptionResult[]
    for (const r of res) {
      expect('error' in r).toBe(false)
      const dec = r.candidates.find((c) => c.provenance.decoder)
      expect(dec?.provenance.decoder?.kind).toBe('pcm-net')
      const mix = dec!.provenance.decoder!.mixup!
      expect(mix.grid).toEqual([4, 4])
      expect(mix.mixed.length).toBeGreaterThanOrEqual(1)
      expect(mix.mixed.length).toBeLessThanOrEqual(2)
      for (const m of mix.mixed) expect(r.concepts.map((c) => c.word).concat(engine.pack.conceptList.map((c) => c.word))).toContain(m.concept)
      // the stored candidate keeps the kind and the map for the studio's heatmap (the `mixup` option stays apart)
      const stored = toNewCandidates({ imageId: 1, packId: 'p', caption: r.caption, candidates: r.candidates, concepts: r.concepts, regions: r.regions, timings: r.timings, options: r.options })
      const params = stored.find((c) => c.source.method === 'decoder' || c.source.method === 'decoder+retrieval')!.source.params!
      expect(params.decoderKind).toBe('pcm-net')
      expect(params.mixMap).toEqual(mix)
      expect(stored.filter((c) => c.source.method === 'retrieval').every((c) => c.source.params!.mixMap === undefined)).toBe(true)
    }
  })

  it('pools a text-only decoder and the pcm-net decoder with alsoDecoders, each candidate naming its own', async () => {
    const files = ['test_00000.png', 'test_00001.png', 'test_00002.png'].map((f) => join(PACK, 'samples', f))
    const base = { regions: 'off' as const, retrieval: false, noiseSamples: 4, noiseVariance: 0.016, cleanSample: true, align: 'off' as const, rerank: true, rankBy: 'clipS' as const }
    const alone = (await captionFiles(engine, files.map((file) => ({ file })), base)) as CaptionResult[]
    const pcmAlone = (await captionFiles(engine, files.map((file) => ({ file })), { ...base, decoder: fixture.entry.id })) as CaptionResult[]
    const both = (await captionFiles(engine, files.map((file) => ({ file })), { ...base, alsoDecoders: [fixture.entry.id] })) as CaptionResult[]
    const main = engine.pack.json.defaultDecoder ?? engine.pack.json.decoders[0]!.id
    both.forEach((r, i) => {
      expect(r.options.alsoDecoders).toEqual([fixture.entry.id])
      const texts = new Set(r.candidates.map((c) => c.text))
      // the pool is the union of the two decoders' captions (same noise seeds, same image)
      expect(texts).toEqual(new Set([...alone[i]!.candidates, ...pcmAlone[i]!.candidates].map((c) => c.text)))
      const pcmText = pcmAlone[i]!.candidates[0]!.text
      const fromPcm = r.candidates.find((c) => c.text === pcmText)!
      const onlyPcm = !alone[i]!.candidates.some((c) => c.text === pcmText)
      if (onlyPcm) {
        expect(fromPcm.provenance.decoder?.kind).toBe('pcm-net')
        expect(fromPcm.provenance.decoder?.id).toBe(fixture.entry.id)
        expect(fromPcm.provenance.decoder?.mixup?.grid).toEqual([4, 4])
      }
      for (const c of r.candidates.filter((x) => x.provenance.decoder?.id === main)) expect(c.provenance.decoder?.kind).toBe('prefix-tokens')
      // reranked by CLIP-S over the whole pool: the pick is the best of both
      expect(r.candidates[0]!.scores.clipS).toBeGreaterThanOrEqual(Math.max(alone[i]!.candidates[0]!.scores.clipS, pcmAlone[i]!.candidates[0]!.scores.clipS) - 1e-6)
    })
    await expect(captionFiles(engine, files.slice(0, 1).map((file) => ({ file })), { ...base, alsoDecoders: [main] })).rejects.toThrow(/other decoders/)
    await expect(captionFiles(engine, files.slice(0, 1).map((file) => ({ file })), { ...base, alsoDecoders: ['no-such-decoder'] })).rejects.toThrow(/no-such-decoder/)
  })

  it('refuses the pcm-net decoder where a prefix embedding is decoded', () => {
    expect(() => engine.decoder(fixture.entry.id)).toThrow(/pcm-net/)
  })
})
