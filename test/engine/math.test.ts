// Pure engine math: seeded noise, tokenizer, realignment, scores, concepts/mix-up, regions, gap analysis.
import { Matrix, SVD } from 'ml-matrix'
import { describe, expect, it } from 'vitest'
import { mixupRegions } from '../../src/main/engine/pipeline/concepts'
import { noiseSamples } from '../../src/main/engine/pipeline/decode'
import { analyzeGap, ksNormal, normalCdf } from '../../src/main/engine/pipeline/gap'
import { argmaxF32, cosine, dot, normalize, topK } from '../../src/main/engine/math/linalg'
import { applyRealignment, fitRealignment } from '../../src/main/engine/math/realign'
import { aggregatePatches, cropBoxes } from '../../src/main/engine/pipeline/regions'
import { createRng, deriveSeed } from '../../src/main/engine/math/rng'
import { clipS, harmonic, qualityWeight, scoreText } from '../../src/main/engine/math/scoring'
import { createTokenizer, WordTokenizer } from '../../src/main/engine/text/tokenizer'
import { bytesToUnicode } from '../../src/main/engine/text/tokenizer-bpe'
import { decodeUtf8Dropping } from '../../src/main/engine/text/utf8'

function randn(rng: ReturnType<typeof createRng>, d: number): Float32Array {
  return Float32Array.from({ length: d }, () => rng.normal())
}

describe('rng and noise', () => {
  it('gives N(0,1) draws with the right moments and reproducible streams', () => {
    const r = createRng(123)
    const xs = Array.from({ length: 20000 }, () => r.normal())
    const m = xs.reduce((a, b) => a + b, 0) / xs.length
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length
    expect(Math.abs(m)).toBeLessThan(0.03)
    expect(Math.abs(v - 1)).toBeLessThan(0.05)
    expect(createRng(5).normal()).toBe(createRng(5).normal())
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(1, 1))
  })

  it('noise samples follow x\' = normalize(normalize(x) + ε) with σ² per dimension', () => {
    const x = new Float32Array(512).fill(0)
    x[0] = 3
    const s = noiseSamples(x, 64, 0.016, 9, true)
    expect(s[0]!.index).toBe(-1)
    expect(Array.from(s[0]!.prefix.slice(0, 2))).toEqual([1, 0])
    // cos(clean, noisy) ≈ 1/√(1 + 512·0.016) ≈ 0.33 (methods.md §0.3)
    const cos = s.slice(1).map((n) => dot(n.prefix, s[0]!.prefix))
    const mean = cos.reduce((a, b) => a + b, 0) / cos.length
    expect(mean).toBeGreaterThan(0.28)
    expect(mean).toBeLessThan(0.38)
    // Sample i is the same whatever N is.
    expect(noiseSamples(x, 3, 0.016, 9, false)[2]!.prefix).toEqual(s[3]!.prefix)
    expect(noiseSamples(x, 2, 0, 9, false)[1]!.prefix).toEqual(s[0]!.prefix)
  })
})

describe('topK (partial selection)', () => {
  it('matches a full stable sort on random arrays with ties and NaN', () => {
    const rng = createRng(7)
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rng.uniform() * 60)
      const v = Array.from({ length: n }, () => (rng.uniform() < 0.05 ? NaN : Math.round(rng.normal() * 3)))
      const k = Math.floor(rng.uniform() * (n + 3))
      const key = (i: number) => (Number.isNaN(v[i]) ? -Infinity : v[i]!)
      const want = Array.from({ length: n }, (_, i) => i)
        .sort((a, b) => key(b) - key(a) || a - b)
        .slice(0, Math.min(k, n))
      expect(topK(v, k)).toEqual(want)
    }
    expect(topK([], 3)).toEqual([])
    expect(topK([1, 2], 0)).toEqual([])
    expect(topK(Float32Array.from([0.1, 0.9, 0.5]), 1)).toEqual([1])
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rng.uniform() * 40)
      const x = Float32Array.from({ length: n }, () => (rng.uniform() < 0.05 ? NaN : Math.round(rng.normal() * 3)))
      if (x.some((v) => !Number.isNaN(v))) expect(argmaxF32(x)).toBe(topK(x, 1)[0])
    }
  })
})

describe('word tokenizer', () => {
  const tok = new WordTokenizer({ type: 'word', vocab: ['<pad>', '<bos>', '<eos>', '<unk>', 'a', 'red', 'square'], pad: 0, bos: 1, eos: 2, unk: 3, maxLength: 5, lowercase: true })
  it('normalises, encodes, truncates and pads', () => {
    expect(tok.normalize('  A  Red, square!! ')).toBe('a red square')
    expect(tok.encode('A red square')).toEqual([1, 4, 5, 6, 2])
    expect(tok.encode('a red square a red')).toEqual([1, 4, 5, 6, 2])
    expect(tok.encode('a purple square')).toEqual([1, 4, 3, 6, 2])
    expect(tok.decode([4, 5, 6, 2, 5])).toBe('a red square')
    const b = tok.batch(['a', 'a red square'])
    expect(b.seq).toBe(5)
    expect(Array.from(b.ids)).toEqual([1n, 4n, 2n, 0n, 0n, 1n, 4n, 5n, 6n, 2n])
    expect(Array.from(b.mask)).toEqual([1n, 1n, 1n, 0n, 0n, 1n, 1n, 1n, 1n, 1n])
  })
  it('refuses bad tokenizer files and unimplemented types clearly', () => {
    expect(() => createTokenizer('word', { type: 'word', vocab: ['a'] }, 'tok.json')).toThrow(/tok\.json: not a word tokenizer/)
    expect(() => createTokenizer('clip-bpe', {}, 'tokenizer.json')).toThrow(/tokenizer\.json: not a Hugging Face BPE tokenizer\.json/)
    expect(() => createTokenizer('sentencepiece', {}, 'tok.model')).toThrow(/unknown tokenizer type "sentencepiece"/)
  })
})

describe('CLIP BPE tokenizer', () => {
  const bytes = bytesToUnicode()
  const vocab: Record<string, number> = {}
  bytes.forEach((c) => (vocab[c] = Object.keys(vocab).length))
  bytes.forEach((c) => (vocab[c + '</w>'] = Object.keys(vocab).length))
  const merges = ['r e', 're d</w>', 's q', 'sq u']
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length
  const json = { model: { type: 'BPE', vocab, merges, end_of_word_suffix: '</w>' }, added_tokens: [{ id: 600, content: '<|startoftext|>' }, { id: 601, content: '<|endoftext|>' }] }
  const tok = createTokenizer('clip-bpe', json, 'tokenizer.json')

  it('merges by rank, adds SOT/EOT, and round-trips text including non-ASCII', () => {
    const ids = tok.encode('A  Red square!')
    expect(ids[0]).toBe(600)
    expect(ids[ids.length - 1]).toBe(601)
    expect(ids[1]).toBe(vocab['a</w>'])
    expect(ids[2]).toBe(vocab['red</w>'])
    expect(ids[3]).toBe(vocab['squ'])
    expect(tok.decode(ids.slice(1))).toBe('a red square !')
    expect(tok.decode(tok.encode('Ünï 2 cats'))).toBe('ünï 2 cats')
    const b = tok.batch(['red', 'a red square'])
    expect(b.seq).toBe(ids.length - 1)
    expect(Number(b.mask.slice(0, b.seq).reduce((a, x) => a + x, 0n))).toBe(3)
    expect(tok.encode('word '.repeat(200))).toHaveLength(77)
  })

  it('drops byte fragments that are not UTF-8 when decoding ([Note: BPE fragments])', () => {
    const red = vocab['red</w>']!
    // a lone lead byte of 'ü' (C3 BC) before a word, a lone continuation byte as a word of its own
    expect(tok.decode([600, vocab[bytes[0xc3]!]!, red, 601])).toBe('red')
    expect(tok.decode([600, red, vocab[bytes[0xbc]! + '</w>']!, red, 601])).toBe('red red')
    expect(tok.decode([600, vocab[bytes[0xc3]!]!, vocab[bytes[0xbc]! + '</w>']!, red, 601])).toBe('ü red')
  })
})

describe('UTF-8 decoding that drops invalid fragments', () => {
  const dec = (...b: number[]) => decodeUtf8Dropping(Uint8Array.from(b))
  it('keeps valid text, a genuine U+FFFD included, and drops each invalid subpart', () => {
    const text = 'a ü € 😀 \ufffd z'
    expect(decodeUtf8Dropping(new TextEncoder().encode(text))).toBe(text)
    expect(dec(0x61, 0xc3, 0x62)).toBe('ab') // lead byte without its continuation
    expect(dec(0x61, 0x80, 0xbf, 0x62)).toBe('ab') // stray continuation bytes
    expect(dec(0xe2, 0x82)).toBe('') // truncated 3-byte sequence at the end
    expect(dec(0xc0, 0xaf, 0x61)).toBe('a') // overlong encoding of '/'
    expect(dec(0xed, 0xa0, 0x80, 0x61)).toBe('a') // an encoded surrogate
    expect(dec(0xf4, 0x90, 0x80, 0x80, 0x61)).toBe('a') // above U+10FFFF
    expect(dec(0x61, 0x20, 0xc3, 0x20, 0x62)).toBe('a b') // the spaces around a dropped fragment collapse
    expect(dec(0x61, 0x20, 0x20, 0x62)).toBe('a  b') // but valid text keeps its spaces
  })
})

describe('realignment', () => {
  const d = 64
  const rng = createRng(77)
  // Ground truth: text = normalize(R·image + small noise) with a random rotation R, plus a constant offset.
  const Q = fitRealignment(Array.from({ length: 200 }, () => ({ image: randn(rng, d), text: randn(rng, d) })), 'procrustes').matrix
  const offset = normalize(randn(rng, d)).map((x) => x * 0.3)
  const make = (n: number) =>
    Array.from({ length: n }, () => {
      const image = normalize(randn(rng, d))
      const rot = applyRealignment(image, Q, d)
      const text = normalize(rot.map((x, k) => x + offset[k]! + 0.05 * rng.normal()))
      return { image, text }
    })
  const train = make(400)
  const test = make(200)
  const meanCos = (pairs: typeof test, m: number[] | null) => pairs.reduce((s, p) => s + cosine(m ? applyRealignment(p.image, m, d) : p.image, p.text), 0) / pairs.length

  it('Procrustes is orthogonal and both fits raise held-out cosine', () => {
    const p = fitRealignment(train, 'procrustes')
    let maxErr = 0
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0
      for (let k = 0; k < d; k++) s += p.matrix[k * d + i]! * p.matrix[k * d + j]!
      maxErr = Math.max(maxErr, Math.abs(s - (i === j ? 1 : 0)))
    }
    expect(maxErr).toBeLessThan(1e-6)
    const r = fitRealignment(train, 'ridge', { lambda: 1 })
    const before = meanCos(test, null)
    expect(meanCos(test, p.matrix)).toBeGreaterThan(before + 0.5)
    expect(meanCos(test, r.matrix)).toBeGreaterThan(before + 0.5)
    expect(JSON.parse(JSON.stringify(r)).matrix).toHaveLength(d * d)
  })

  it('matches the SVD definition and stays orthogonal with fewer pairs than dimensions', () => {
    const few = make(10)
    const p = fitRealignment(few, 'procrustes')
    let maxErr = 0
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0
      for (let k = 0; k < d; k++) s += p.matrix[k * d + i]! * p.matrix[k * d + j]!
      maxErr = Math.max(maxErr, Math.abs(s - (i === j ? 1 : 0)))
    }
    expect(maxErr).toBeLessThan(1e-6)
    // Same objective value as U·Vᵀ from ml-matrix's SVD of XᵀY.
    const X = new Matrix(few.map((q) => Array.from(q.image)))
    const Y = new Matrix(few.map((q) => Array.from(q.text)))
    const svd = new SVD(X.transpose().mmul(Y))
    const ref = svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose())
    const trace = (w: Matrix) => X.mmul(w).mmul(Y.transpose()).trace()
    expect(trace(new Matrix(Array.from({ length: d }, (_, i) => p.matrix.slice(i * d, (i + 1) * d))))).toBeCloseTo(trace(ref), 6)
  })

  it('refits a 512-d realignment from 1000 pairs (timing is reported, measured in npm run bench)', () => {
    const big = Array.from({ length: 1000 }, () => ({ image: randn(rng, 512), text: randn(rng, 512) }))
    const p = fitRealignment(big, 'procrustes')
    const r = fitRealignment(big, 'ridge')
    console.log(`realignment fit, 512-d, 1000 pairs: procrustes ${p.fitMs.toFixed(0)} ms, ridge ${r.fitMs.toFixed(0)} ms`)
    // Timings are printed, not asserted (performance targets live in the benchmark, not in unit tests).
    for (const m of [p, r]) {
      expect(m.dim).toBe(512)
      expect(m.matrix).toHaveLength(512 * 512)
      expect(m.matrix.every(Number.isFinite)).toBe(true)
    }
  })

  it('needs at least two pairs', () => {
    expect(() => fitRealignment([{ image: [1, 0], text: [0, 1] }], 'ridge')).toThrow(/at least 2/)
  })
})

describe('scores', () => {
  it('CLIP-S, RefCLIP-S and the quality weight follow their definitions', () => {
    expect(clipS(0.3)).toBeCloseTo(0.75)
    expect(clipS(-0.2)).toBe(0)
    expect(harmonic(0.75, 0.5)).toBeCloseTo(0.6)
    expect(qualityWeight(0.1)).toBeCloseTo(0.4)
    expect(qualityWeight(0.3)).toBe(1)
    expect(qualityWeight(-0.1)).toBe(0)
    const img = normalize(Float32Array.from([1, 0, 0]))
    const txt = normalize(Float32Array.from([1, 1, 0]))
    const ref = normalize(Float32Array.from([1, 1, 1]))
    const s = scoreText(txt, img, img, [ref])
    expect(s.clipS).toBeCloseTo(2.5 / Math.SQRT2)
    expect(s.aclipS).toBeCloseTo(s.clipS)
    const b = 2 / Math.sqrt(6)
    expect(s.refClipS).toBeCloseTo((2 * s.clipS * b) / (s.clipS + b))
  })
})

describe('regions and mix-up', () => {
  it('patch route picks the CLS top-k, weights by attention and fuses g + w·s', () => {
    const dim = 4
    const tokens = [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 1, 0, 0]), Float32Array.from([0, 0, 1, 0]), Float32Array.from([0, 0, 0, 1]), Float32Array.from([0, 1, 0, 0])]
    const T = 5
    const A = new Float32Array(T * T).fill(0.2)
    A.set([0.1, 0.6, 0.1, 0.1, 0.1], 0)
    const agg = aggregatePatches({ global: tokens[0]!, tokens, attention: A, grid: [2, 2] }, { topK: 1, weight: 1 })
    expect(agg.heatmap.kind === 'patch' && agg.heatmap.selected).toEqual([1])
    // Row 1 of A is uniform, so s = normalize(mean of tokens) and f = normalize(g + s).
    const mean = normalize(Float32Array.from([1, 2, 1, 1]))
    const f = normalize(Float32Array.from([1 + mean[0]!, mean[1]!, mean[2]!, mean[3]!]))
    expect(Array.from(agg.fused)).toEqual(Array.from(f).map((x) => expect.closeTo(x, 5)))
    expect(agg.heatmap.kind === 'patch' && agg.heatmap.weights).toEqual([0.2, 0.2, 0.2, 0.2].map((x) => expect.closeTo(x, 6)))
    expect(() => aggregatePatches({ global: tokens[0]!, tokens, attention: A, grid: [3, 3] }, { topK: 1, weight: 1 })).toThrow(/patch grid/)
    expect(cropBoxes()).toHaveLength(14)
    expect(dim).toBe(4)
  })

  it('mix-up moves only the best-matching regions toward their concept', () => {
    const regions = [normalize(Float32Array.from([1, 0.1, 0])), normalize(Float32Array.from([0, 0, 1])), normalize(Float32Array.from([0.2, 1, 0]))]
    const concepts = [Float32Array.from([1, 0, 0]), Float32Array.from([0, 1, 0])]
    const r = mixupRegions(regions, concepts, { topM: 2, lambda: 0.5 })
    expect(r.mixed.map((m) => m.region).sort()).toEqual([0, 2])
    expect(r.features[1]).toBe(regions[1])
    expect(dot(r.features[0]!, concepts[0]!)).toBeGreaterThan(dot(regions[0]!, concepts[0]!))
    expect(r.mixed.find((m) => m.region === 2)?.concept).toBe(1)
  })
})

describe('gap analysis', () => {
  it('recovers a planted gap, flags the non-zero mean, and R@1 rises when closing the gap', () => {
    const rng = createRng(5)
    const d = 32
    const n = 300
    const shift = normalize(randn(rng, d)).map((x) => x * 0.8)
    const texts = Array.from({ length: n }, () => normalize(randn(rng, d)))
    const images = texts.map((t) => normalize(t.map((x, k) => x + shift[k]! + 0.15 * rng.normal())))
    const g = analyzeGap(images, texts, [0, 0.5, 1])
    expect(g.gapNorm).toBeGreaterThan(0.3)
    expect(g.meanShare).toBeGreaterThan(0.3)
    expect(g.zeroMean.shareSignificant).toBeGreaterThan(0.5)
    expect(Math.abs(g.gaussian.excessKurtosis)).toBeLessThan(0.5)
    expect(g.pca.image).toHaveLength(n)
    expect(g.shift[2]!.r1).toBeGreaterThanOrEqual(g.shift[0]!.r1)
    expect(normalCdf(0)).toBeCloseTo(0.5, 6)
    expect(normalCdf(1.96)).toBeCloseTo(0.975, 3)
    const r = createRng(8)
    expect(ksNormal(Float64Array.from({ length: 5000 }, () => r.normal()))).toBeLessThan(0.03)
    expect(ksNormal(Float64Array.from({ length: 5000 }, () => r.uniform() * 4 - 2))).toBeGreaterThan(0.05)
  })
})
