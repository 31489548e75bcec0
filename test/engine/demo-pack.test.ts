// The engine on the bundled demo pack (models/shapes-demo, built by tools/modelkit). Skipped with a message
// while the pack is not in the repository.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captionFiles, Engine, type CaptionResult } from '../../src/main/engine/worker'
import { dot, normalize } from '../../src/main/engine/math/linalg'
import { applyRealignment } from '../../src/main/engine/math/realign'
import { shapeImage } from './helpers/images'

// SHAPES_DEMO_PACK points the suite at another build of the pack (e.g. a model-kit work folder).
const PACK = resolve(process.env.SHAPES_DEMO_PACK ?? resolve(__dirname, '../../models/shapes-demo'))
const SAMPLES = join(PACK, 'samples')
const present = existsSync(join(PACK, 'pack.json')) && existsSync(join(SAMPLES, 'refs.json'))
if (!present) console.warn('demo-pack.test.ts: models/shapes-demo (with samples/refs.json) is not there yet; skipping')

let engine: Engine

function quick(): boolean {
  if (!present) return true
  const version = (JSON.parse(readFileSync(join(PACK, 'pack.json'), 'utf8')) as { version: string }).version
  if (version.endsWith('-quick')) console.warn(`demo-pack.test.ts: pack ${version} is the quick preview; the concept check needs the full pack`)
  return version.endsWith('-quick')
}
let tmp: string
let refs: Record<string, string[]>
let files: string[]

const ok = (r: unknown): CaptionResult => {
  if (r && typeof r === 'object' && 'error' in r) throw new Error(`unexpected failure: ${JSON.stringify(r)}`)
  return r as CaptionResult
}

describe.skipIf(!present)('demo pack', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'engine-demo-'))
    engine = await Engine.open(PACK, { providers: ['cuda', 'cpu'], intraOpThreads: 1 })
    refs = JSON.parse(readFileSync(join(SAMPLES, 'refs.json'), 'utf8')) as Record<string, string[]>
    files = Object.keys(refs).filter((f) => existsSync(join(SAMPLES, f))).sort().map((f) => join(SAMPLES, f))
  })

  afterAll(async () => {
    await engine?.close()
  })

  it('runs on CPU after CUDA fails, and reports it', async () => {
    expect(await engine.provider()).toBe('cpu')
    expect(engine.status().providerAttempts.some((a) => a.provider === 'cuda')).toBe(true)
  })

  // The quick preview pack (version *-quick) is documented as low quality (its CLIP has image→text R@1 ≈ 0.02
  // and near-uniform concept similarities), so this check waits for the full pack.
  it.skipIf(quick())('finds "red" and "square" among the concepts of a rendered red square', async () => {
    const size = engine.pack.json.preprocess.size
    const f = join(tmp, 'red-square.png')
    await shapeImage(f, { shape: 'square', fill: 'rgb(215,35,35)', bg: [128, 128, 128], size, d: 24 })
    const [r] = await captionFiles(engine, [{ file: f }], { concepts: true })
    const words = ok(r).concepts.map((c) => c.word)
    expect(words).toContain('red')
    expect(words).toContain('square')
  })

  it('realignment lowers the mean image–text distance on held-out sample pairs', async () => {
    const imgs = await engine.embedImages(files)
    const pairs: { file: string; image: Float32Array; text: Float32Array }[] = []
    for (const r of imgs) {
      if ('error' in r) throw r.error
      const caps = refs[r.file.slice(SAMPLES.length + 1)] ?? []
      for (const t of await engine.embedTexts(caps)) pairs.push({ file: r.file, image: r.embedding, text: t })
    }
    const dist = (x: Float32Array, t: Float32Array) => Math.sqrt(Math.max(0, 2 - 2 * dot(x, t)))
    const mean = (m: ArrayLike<number> | null) => pairs.reduce((s, p) => s + dist(m ? applyRealignment(p.image, m, engine.dim) : normalize(p.image), p.text), 0) / pairs.length
    const before = mean(null)
    for (const mode of ['procrustes', 'ridge'] as const) {
      const m = engine.realignmentMatrix(mode)
      expect(mean(m)).toBeLessThan(before)
    }
    // A refit on half of the sample images, measured on the other half.
    const half = Math.floor(files.length / 2)
    const trainFiles = new Set(files.slice(0, half))
    const train = pairs.filter((p) => trainFiles.has(p.file))
    const test = pairs.filter((p) => !trainFiles.has(p.file))
    const fit = engine.fitRealignment(train, 'ridge', { activate: false })
    const testBefore = test.reduce((s, p) => s + dist(normalize(p.image), p.text), 0) / test.length
    const testAfter = test.reduce((s, p) => s + dist(applyRealignment(p.image, fit.matrix, engine.dim), p.text), 0) / test.length
    expect(testAfter).toBeLessThan(testBefore)
    console.log(`mean image–text distance: ${before.toFixed(3)} raw → pack matrices ${mean(engine.realignmentMatrix('procrustes')).toFixed(3)} (procrustes), ${mean(engine.realignmentMatrix('ridge')).toFixed(3)} (ridge); refit on ${half} images: ${testBefore.toFixed(3)} → ${testAfter.toFixed(3)} held out`)
  })

  it('captions every sample; the reranked pick never has lower CLIP-S than the plain decode', async () => {
    const plain = await captionFiles(engine, files.map((file) => ({ file })), { regions: 'off', noiseSamples: 0, cleanSample: true, retrieval: false, rerank: false, align: 'off' })
    const reranked = await captionFiles(engine, files.map((file) => ({ file })), { rankBy: 'clipS', seed: 11 })
    const deflt = await captionFiles(engine, files.map((file) => ({ file })), { seed: 11 })
    plain.forEach((p, i) => {
      const a = ok(p)
      const b = ok(reranked[i])
      expect(a.caption.length).toBeGreaterThan(0)
      expect(b.candidates[0]!.scores.clipS).toBeGreaterThanOrEqual(a.candidates[0]!.scores.clipS - 1e-6)
      const d = ok(deflt[i])
      expect(d.caption.length).toBeGreaterThan(0)
      // The default ranking (aCLIP-S) never picks below the plain decode on its own score.
      const plainText = a.caption
      const same = d.candidates.find((c) => c.text === plainText)
      if (same) expect(d.candidates[0]!.score).toBeGreaterThanOrEqual(same.score)
    })
    const stages = ['preprocess', 'imageEncoder', 'concepts', 'regions', 'decode', 'retrieval', 'textEncoder', 'rerank', 'total']
    const avg = Object.fromEntries(stages.map((k) => [k, deflt.reduce((s, r) => s + ok(r).timings[k]!, 0) / deflt.length]))
    console.log('default configuration, mean ms per image:', JSON.stringify(Object.fromEntries(Object.entries(avg).map(([k, v]) => [k, Number(v.toFixed(2))]))))
  }, 180_000) // 48 samples × several configurations: a minute on a loaded 2-core machine

  it('is deterministic for a seed', async () => {
    const f = files.slice(0, 3).map((file) => ({ file }))
    const a = await captionFiles(engine, f, { seed: 99 })
    const b = await captionFiles(engine, f, { seed: 99 })
    expect(b.map((r) => ok(r).candidates.map((c) => [c.text, c.score]))).toEqual(a.map((r) => ok(r).candidates.map((c) => [c.text, c.score])))
  })

  it('refuses a copy of the pack with one flipped byte before loading', async () => {
    const copy = join(tmp, 'pack-copy')
    cpSync(PACK, copy, { recursive: true })
    const onnx = readdirSync(copy).filter((n) => n.endsWith('.onnx')).sort()[0]!
    const buf = readFileSync(join(copy, onnx))
    buf[Math.floor(buf.length / 2)] = buf[Math.floor(buf.length / 2)]! ^ 0x04
    writeFileSync(join(copy, onnx), buf)
    await expect(Engine.open(copy)).rejects.toThrow(new RegExp(`${onnx.replace('.', '\\.')} is corrupted`))
  })
})
