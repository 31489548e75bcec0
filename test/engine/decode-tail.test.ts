// The next-token tail (log-softmax + top-k appended to the decoder graph, packs/graph-decode-tail.ts) against
// the JavaScript path (full logits per step, log-sum-exp and top-k in JS): on the tiny cached decoder fixture
// (KV-cache and full re-run) and on the demo pack's three decoders, greedy and beam 3, the tokens must be
// identical and the log-probabilities equal to 1e-4; graphs the tail cannot take are refused with a reason.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodePrefixes } from '../../src/main/engine/pipeline/decode'
import { cachedSteps, fullRerunSteps } from '../../src/main/engine/worker/decode-steps'
import { addDecodeTail, DECODE_TAIL } from '../../src/main/engine/packs/graph-decode-tail'
import { DecoderSpec, PackJson, prefixDecoders } from '../../src/main/engine/packs/pack-schema'
import { createRng } from '../../src/main/engine/math/rng'
import { checkContract } from '../../src/main/engine/worker/sessions'
import { withTailContract } from '../../src/main/engine/worker/decode-tail-session'
import { createTokenizer } from '../../src/main/engine/text/tokenizer'
import { normalize } from '../../src/main/engine/math/linalg'
import { Engine } from '../../src/main/engine/worker/engine'

const fixture = join(__dirname, '..', 'fixtures', 'cached-decoder')
const demo = join(__dirname, '..', '..', 'models', 'shapes-demo')
const spec = v.parse(DecoderSpec, JSON.parse(readFileSync(join(fixture, 'spec.json'), 'utf8')))
const tokenizer = createTokenizer('word', JSON.parse(readFileSync(join(fixture, 'tokenizer.json'), 'utf8')), 'tokenizer.json')
const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1 }
const open = (file: string) => ort.InferenceSession.create(file, opts)
async function openTail(file: string, logits: string): Promise<ort.InferenceSession> {
  const r = addDecodeTail(readFileSync(file), logits)
  if ('unsupported' in r) throw new Error(r.unsupported)
  return ort.InferenceSession.create(r.bytes, opts)
}
const sessions: ort.InferenceSession[] = []
const keep = (s: ort.InferenceSession) => (sessions.push(s), s)
afterAll(async () => {
  for (const s of sessions) await s.release()
})

const prefixes = (n: number, dim: number, seed = 11) => {
  const rng = createRng(seed)
  return Array.from({ length: n }, () => normalize(Float32Array.from({ length: dim }, () => rng.normal())))
}

describe('decode tail on the cached decoder fixture', () => {
  let init: ort.InferenceSession, step: ort.InferenceSession, initT: ort.InferenceSession, stepT: ort.InferenceSession
  beforeAll(async () => {
    init = keep(await open(join(fixture, 'decoder.onnx')))
    step = keep(await open(join(fixture, spec.cache!.file)))
    initT = keep(await openTail(join(fixture, 'decoder.onnx'), spec.roles.logits))
    stepT = keep(await openTail(join(fixture, spec.cache!.file), spec.cache!.roles.logits))
  })

  it('the rewritten models keep their old contract and add the tail one', () => {
    checkContract(initT, withTailContract(spec), 'decoder tiny (tail)')
    checkContract(stepT, withTailContract(spec.cache!), 'decoder tiny cache step (tail)')
    expect(initT.outputNames).toEqual([...init.outputNames, DECODE_TAIL.logprobs, DECODE_TAIL.ids])
  })

  for (const beam of [1, 3]) {
    for (const cached of [true, false]) {
      it(`${cached ? 'KV cache' : 'full re-run'}, beam ${beam}: identical tokens, log-probabilities to 1e-4`, async () => {
        const p = prefixes(12, 16)
        const o = { beam, maxLength: 12 }
        const js = cached ? cachedSteps(init, step, { ...spec, cache: spec.cache! }, p) : fullRerunSteps(init, spec, p)
        const tail = cached ? cachedSteps(initT, stepT, { ...spec, cache: spec.cache! }, p, { k: beam }) : fullRerunSteps(initT, spec, p, { k: beam })
        const a = await decodePrefixes(js, tokenizer, p, o)
        const b = await decodePrefixes(tail, tokenizer, p, o)
        expect(b.map((d) => d.ids)).toEqual(a.map((d) => d.ids))
        b.forEach((d, i) => expect(Math.abs(d.logProb - a[i]!.logProb)).toBeLessThan(1e-4))
        // not a degenerate case: the prefixes decode differently and end at different lengths
        expect(new Set(a.map((d) => d.ids.join(' '))).size).toBeGreaterThan(1)
        expect(new Set(a.map((d) => d.ids.length)).size).toBeGreaterThan(1)
      })
    }
  }

  it('a step returns only k scores per row, sorted best first', async () => {
    const p = prefixes(4, 16)
    const out = await fullRerunSteps(initT, spec, p, { k: 5 }).step(p.map((_, g) => ({ group: g, ids: [tokenizer.bos], parent: -1 })))
    expect('ids' in out && out.k).toBe(5)
    if (!('ids' in out)) return
    expect(out.logprobs.length).toBe(20)
    for (let b = 0; b < 4; b++) for (let j = 1; j < 5; j++) expect(out.logprobs[b * 5 + j]!).toBeLessThanOrEqual(out.logprobs[b * 5 + j - 1]!)
    expect(Math.max(...out.logprobs)).toBeLessThan(0)
  })

  it('refuses graphs it cannot rewrite, with the reason', () => {
    const bytes = readFileSync(join(fixture, 'decoder.onnx'))
    expect(addDecodeTail(bytes, 'nope')).toEqual({ unsupported: expect.stringMatching(/no "nope" output/) })
    expect(addDecodeTail(bytes, 'present')).toEqual({ unsupported: expect.stringMatching(/rank 6/) })
    const once = addDecodeTail(bytes, 'logits')
    if ('unsupported' in once) throw new Error(once.unsupported)
    expect(addDecodeTail(once.bytes, 'logits')).toEqual({ unsupported: expect.stringMatching(/already has a value named decode_tail_k/) })
    expect(addDecodeTail(Uint8Array.of(1, 2, 3), 'logits')).toEqual({ unsupported: expect.stringMatching(/not an ONNX model/) })
  })
})

describe('decode tail on the demo pack', () => {
  const pack = v.parse(PackJson, JSON.parse(readFileSync(join(demo, 'pack.json'), 'utf8')))
  const demoTok = createTokenizer(pack.tokenizer.type, JSON.parse(readFileSync(join(demo, pack.tokenizer.file), 'utf8')), pack.tokenizer.file)

  for (const d of prefixDecoders(pack.decoders)) {
    it(`${d.id}: greedy and beam 3 give identical tokens with and without the tail`, async () => {
      const plain = keep(await open(join(demo, d.file)))
      const tail = keep(await openTail(join(demo, d.file), d.roles.logits))
      const p = prefixes(24, pack.embedDim, 5)
      for (const beam of [1, 3]) {
        const o = { beam, maxLength: pack.defaults.maxLength }
        const a = await decodePrefixes(fullRerunSteps(plain, d, p), demoTok, p, o)
        const b = await decodePrefixes(fullRerunSteps(tail, d, p, { k: beam }), demoTok, p, o)
        expect(b.map((x) => x.ids)).toEqual(a.map((x) => x.ids))
        b.forEach((x, i) => expect(Math.abs(x.logProb - a[i]!.logProb)).toBeLessThan(1e-4))
      }
    })
  }

  it('the engine decodes through the tail above the vocabulary threshold and matches tail: false', async () => {
    const engine = await Engine.open(demo, { providers: ['cpu'], intraOpThreads: 1, decodeTailMinVocab: 0 })
    try {
      const p = prefixes(9, pack.embedDim, 3)
      const before = engine.pool.loaded()
      const a = await engine.decode(pack.decoders[0]!.id, p, { beam: 3, maxLength: 20, tail: false })
      const b = await engine.decode(pack.decoders[0]!.id, p, { beam: 3, maxLength: 20 })
      expect(b.map((x) => x.ids)).toEqual(a.map((x) => x.ids))
      // one plain and one rewritten session: the default path really used the tail session
      expect(engine.pool.loaded() - before).toBe(2)
    } finally {
      await engine.close()
    }
  })

  it('a vocabulary below the threshold (the demo pack of 43 words, default threshold) keeps the JavaScript path', async () => {
    const engine = await Engine.open(demo, { providers: ['cpu'], intraOpThreads: 1 })
    try {
      const before = engine.pool.loaded()
      await engine.decode(pack.decoders[0]!.id, prefixes(2, pack.embedDim, 3), { beam: 1, maxLength: 5 })
      expect(engine.pool.loaded() - before).toBe(1)
    } finally {
      await engine.close()
    }
  })
})
