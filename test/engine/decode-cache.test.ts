// Incremental (KV-cache) decoding against re-running the whole sequence, on a tiny random decoder exported by
// tools/modelkit/make_cached_decoder_fixture.py three ways (plain, cached init, cached step): the tokens and
// log-probabilities must agree for greedy and beam search; a wrong cache contract is refused by name.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodePrefixes } from '../../src/main/engine/pipeline/decode'
import { cachedSteps, fullRerunSteps, gatherCache } from '../../src/main/engine/worker/decode-steps'
import { DecoderSpec } from '../../src/main/engine/packs/pack-schema'
import { createRng } from '../../src/main/engine/math/rng'
import { checkContract } from '../../src/main/engine/worker/sessions'
import { createTokenizer } from '../../src/main/engine/text/tokenizer'
import { normalize } from '../../src/main/engine/math/linalg'

const dir = join(__dirname, '..', 'fixtures', 'cached-decoder')
const spec = v.parse(DecoderSpec, JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')))
const tokenizer = createTokenizer('word', JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), 'tokenizer.json')
const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1 }
let plain: ort.InferenceSession
let init: ort.InferenceSession
let step: ort.InferenceSession

beforeAll(async () => {
  plain = await ort.InferenceSession.create(join(dir, 'decoder_plain.onnx'), opts)
  init = await ort.InferenceSession.create(join(dir, 'decoder.onnx'), opts)
  step = await ort.InferenceSession.create(join(dir, spec.cache!.file), opts)
})
afterAll(async () => {
  for (const s of [plain, init, step]) await s?.release()
})

const prefixes = (n: number) => {
  const rng = createRng(11)
  return Array.from({ length: n }, () => normalize(Float32Array.from({ length: 16 }, () => rng.normal())))
}

describe('KV-cache decoding', () => {
  it('the fixture declares a valid cached decoder and the models match their contracts', () => {
    expect(spec.cache?.roles).toEqual({ ids: 'input_ids', past: 'past', logits: 'logits', present: 'present' })
    checkContract(init, spec, 'decoder tiny')
    checkContract(step, spec.cache!, 'decoder tiny cache step')
  })

  for (const beam of [1, 3]) {
    it(`gives the same tokens and log-probabilities as re-running the sequence (beam ${beam})`, async () => {
      const p = prefixes(12)
      const o = { beam, maxLength: 12 }
      const full = await decodePrefixes(fullRerunSteps(plain, { ...spec, file: 'decoder_plain.onnx' }, p), tokenizer, p, o)
      const cached = await decodePrefixes(cachedSteps(init, step, { ...spec, cache: spec.cache! }, p), tokenizer, p, o)
      expect(cached.map((d) => d.ids)).toEqual(full.map((d) => d.ids))
      cached.forEach((d, i) => expect(d.logProb).toBeCloseTo(full[i]!.logProb, 4))
      // the prefixes do not all decode alike, and some sequences end before others (the cache batch shrinks
      // and its rows are re-gathered)
      expect(new Set(full.map((d) => d.ids.join(' '))).size).toBeGreaterThan(1)
      const lengths = new Set(full.map((d) => d.ids.length))
      expect(lengths.size, [...lengths].join(',')).toBeGreaterThan(1)
    })
  }

  it('the main model of a cached decoder also works without the cache (full re-run, logits only)', async () => {
    const p = prefixes(3)
    const a = await decodePrefixes(fullRerunSteps(init, spec, p), tokenizer, p, { beam: 1, maxLength: 8 })
    const b = await decodePrefixes(fullRerunSteps(plain, spec, p), tokenizer, p, { beam: 1, maxLength: 8 })
    expect(a.map((d) => d.ids)).toEqual(b.map((d) => d.ids))
  })

  it('gathers cache rows by parent and refuses bad shapes', () => {
    // [layers 1, 2, batch 3, heads 1, seq 1, hd 2]: row b of k/v holds b*10 + (0|1)
    const data = Float32Array.from([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121])
    const t = new ort.Tensor('float32', data, [1, 2, 3, 1, 1, 2])
    const g = gatherCache(t, [2, 0, 2])
    expect(g.dims).toEqual([1, 2, 3, 1, 1, 2])
    expect([...(g.data as Float32Array)]).toEqual([20, 21, 0, 1, 20, 21, 120, 121, 100, 101, 120, 121])
    expect(() => gatherCache(t, [3])).toThrow(/out of range/)
    expect(() => gatherCache(new ort.Tensor('float32', new Float32Array(4), [2, 2]), [0])).toThrow(/rank 2/)
  })

  it('a cache step whose I/O contract does not match is refused with the file named', () => {
    const wrong = { ...spec.cache!, outputs: [{ name: 'present_kv', shape: spec.cache!.outputs[1]!.shape, dtype: 'float32' as const }, spec.cache!.outputs[0]!] }
    expect(() => checkContract(step, wrong, 'decoder tiny cache step')).toThrow(/decoder_step\.onnx.*present_kv/)
    expect(() => v.parse(DecoderSpec, { ...JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')), roles: { prefix: 'prefix', ids: 'input_ids', logits: 'logits' } })).toThrow(/roles\.present/)
  })
})
