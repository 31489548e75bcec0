// DeCap's memory projection (src/main/engine/pipeline/memory.ts) and the `memoryProjection` caption option:
// the dense projection against a float64 reference, the compact (int8) projection against the dense one over
// the same rows (all rows when small, the index's 256 nearest when large), and the pipeline decoding the
// projected vector (clean and noisy samples) with the memory in the candidate's provenance.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { captionFiles, Engine, resolveOptions, type CaptionResult } from '../../src/main/engine/worker'
import { MEMORY_NEIGHBOURS, MEMORY_TAU, projectCompact, projectDense, projectOntoMemory } from '../../src/main/engine/pipeline/memory'
import { noiseSamples } from '../../src/main/engine/pipeline/decode'
import { matVecRows, normalize, softmax } from '../../src/main/engine/math/linalg'
import { createRng } from '../../src/main/engine/math/rng'
import { DatastoreWriter } from '../../src/main/engine/packs/datastore-writer'
import { openCompactDatastore } from '../../src/main/engine/packs/datastore-reader'
import { EngineCandidate } from '../../src/shared/contract/engine'
import { syntheticQueries, syntheticRows, syntheticWorld } from '../../src/main/eval/bench/synthetic-embeddings'
import { solid } from './helpers/images'
import { writeCompactFakePack, writeFakePack } from './helpers/fake-pack'

const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    s += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return s / Math.sqrt(na * nb)
}

/** float64 reference: normalize(Σ softmax(M·q/τ)_i M_i) over the listed rows. */
function reference(data: Float32Array, dim: number, rows: readonly number[], q: ArrayLike<number>, tau: number): number[] {
  const sims = rows.map((r) => {
    let s = 0
    for (let k = 0; k < dim; k++) s += data[r * dim + k]! * q[k]!
    return s / tau
  })
  const m = Math.max(...sims)
  const e = sims.map((s) => Math.exp(s - m))
  const z = e.reduce((a, b) => a + b, 0)
  const out = new Array<number>(dim).fill(0)
  rows.forEach((r, i) => {
    for (let k = 0; k < dim; k++) out[k]! += (e[i]! / z) * data[r * dim + k]!
  })
  const n = Math.hypot(...out)
  return out.map((x) => x / n)
}

const SOURCE = [{ id: 0, name: 'synthetic', licence: 'CC0-1.0' }]
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

describe('memory projection math', () => {
  const dim = 32
  const w = syntheticWorld(dim, 12, 3)
  const rows = syntheticRows(w, 0, 120) // 5 captions per image
  const n = rows.length / dim
  const queries = syntheticQueries(w, 120, 5, 9)
  const q = (i: number) => queries.subarray(i * dim, (i + 1) * dim)

  it('dense: equals the float64 reference, moves toward the nearest row as τ shrinks and to the mean as τ grows', () => {
    for (const i of [0, 1, 2]) {
      const got = projectDense(rows, n, dim, q(i))
      const want = reference(rows, dim, range(n), q(i), MEMORY_TAU)
      for (let k = 0; k < dim; k++) expect(got[k]).toBeCloseTo(want[k]!, 5)
      expect(Math.hypot(...got)).toBeCloseTo(1, 5)
    }
    const sims = range(n).map((r) => cos(rows.subarray(r * dim, (r + 1) * dim), q(0)))
    const best = sims.indexOf(Math.max(...sims))
    expect(cos(projectDense(rows, n, dim, q(0), 1e-4), rows.subarray(best * dim, (best + 1) * dim))).toBeGreaterThan(0.9999)
    const mean = reference(rows, dim, range(n), q(0), 1e9)
    expect(cos(projectDense(rows, n, dim, q(0), 1e3), mean)).toBeGreaterThan(0.99999)
    // at DeCap's τ the projection is closer to the memory than the query was
    expect(Math.max(...range(n).map((r) => cos(projectDense(rows, n, dim, q(0)), rows.subarray(r * dim, (r + 1) * dim))))).toBeGreaterThan(Math.max(...sims))
  })

  it('dense: bit-for-bit the hand-written weighted row sum it replaced (vecMat over softmax weights), on seeded random data', () => {
    // the arithmetic of the loop projectDense had before it used linalg's vecMat (review D6): out[k] += w_i·M_ik
    // in float64, rounded to float32 after each row, rows in order, zero weights skipped. Walked column by column
    // here; each out[k] sees the same additions in the same order, so the floats are the old loop's exactly.
    const before = (data: Float32Array, n: number, dim: number, x: Float32Array, tau: number) => {
      const w = softmax(matVecRows(data, n, dim, x), tau)
      const out = new Float32Array(dim)
      for (let k = 0; k < dim; k++) for (let i = 0; i < n; i++) if (w[i] !== 0) out[k]! += w[i]! * data[i * dim + k]!
      return normalize(out)
    }
    const rng = createRng(606)
    for (const [n, d] of [[1, 8], [37, 16], [500, 64], [257, 512]] as const) {
      const data = Float32Array.from({ length: n * d }, () => rng.normal())
      const x = normalize(Float32Array.from({ length: d }, () => rng.normal()))
      // DeCap's τ, a tiny one (most weights underflow to exactly 0: the skipped rows) and a flat one
      for (const tau of [MEMORY_TAU, 1e-4, 10]) expect(projectDense(data, n, d, x, tau)).toEqual(before(data, n, d, x, tau))
    }
  })

  it('compact: a datastore under 256 rows is projected over all its rows, as the float32 one', async () => {
    const small = rows.subarray(0, 200 * dim)
    const dir = mkdtempSync(join(tmpdir(), 'memory-small-'))
    const wr = await DatastoreWriter.create(dir, { dim, sources: SOURCE, index: 'never' })
    await wr.add(range(200).map((i) => `caption ${i}`), small, 0)
    const store = await openCompactDatastore(dir, (await wr.finish()).datastore, dim)
    for (const i of [0, 1, 2, 3]) {
      const r = projectCompact(store, q(i))
      expect([...r.rows].sort((a, b) => a - b)).toEqual(range(200))
      // int8 rows (one scale per row): the same vector up to quantisation
      expect(cos(r.vector, projectDense(small, 200, dim, q(i)))).toBeGreaterThan(0.999)
    }
    store.close()
  })

  it('compact with an index: the memory is the 256 nearest rows, projected as the float32 rows would be', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memory-index-'))
    const wr = await DatastoreWriter.create(dir, { dim, sources: SOURCE, index: 'always', indexParams: { connectivity: 16, expansionAdd: 64, expansionSearch: 300 } })
    await wr.add(range(n).map((i) => `caption ${i}`), rows, 0)
    const store = await openCompactDatastore(dir, (await wr.finish()).datastore, dim)
    expect(store.mode).toBe('index')
    for (const i of [0, 1, 2]) {
      const r = projectCompact(store, q(i))
      expect(r.rows).toHaveLength(MEMORY_NEIGHBOURS)
      expect(new Set(r.rows).size).toBe(MEMORY_NEIGHBOURS)
      // the same rows in float32 give the same vector (up to int8)
      expect(cos(r.vector, reference(rows, dim, r.rows, q(i), MEMORY_TAU))).toBeGreaterThan(0.999)
      // and they are (nearly all) the exact 256 nearest rows
      const exact = range(n).map((row) => ({ row, s: cos(rows.subarray(row * dim, (row + 1) * dim), q(i)) })).sort((a, b) => b.s - a.s).slice(0, MEMORY_NEIGHBOURS).map((x) => x.row)
      const hit = r.rows.filter((x) => exact.includes(x)).length
      expect(hit / MEMORY_NEIGHBOURS).toBeGreaterThan(0.95)
    }
    store.close()
  })
})

describe('memoryProjection in the caption pipeline', () => {
  let dir: string
  let f32: Engine
  let compact: Engine
  const ok = (r: unknown): CaptionResult => {
    if (r && typeof r === 'object' && 'error' in r) throw new Error(`unexpected failure: ${JSON.stringify(r)}`)
    return r as CaptionResult
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'memory-pipeline-'))
    writeFakePack(join(dir, 'f32'))
    await writeCompactFakePack(join(dir, 'compact'), { id: 'fake-compact' })
    f32 = await Engine.open(join(dir, 'f32'), { intraOpThreads: 1 })
    compact = await Engine.open(join(dir, 'compact'), { intraOpThreads: 1 })
    // purple: between the red and the blue captions, so the projection moves it
    await solid(join(dir, 'purple.png'), [200, 30, 170])
  })

  afterAll(async () => {
    await f32?.close()
    await compact?.close()
  })

  it('resolves from the pack defaults (off) and refuses a pack without a datastore', () => {
    expect(resolveOptions(f32.pack.json).memoryProjection).toBe(false)
    expect(resolveOptions(f32.pack.json, { memoryProjection: true }).memoryProjection).toBe(true)
    const { datastore: _d, ...noStore } = f32.pack.json
    const arrays = { ...f32.pack.json.arrays, datastore: undefined }
    expect(() => resolveOptions({ ...noStore, arrays }, { memoryProjection: true })).toThrow(/no caption datastore/)
    expect(() => resolveOptions({ ...f32.pack.json, decoders: [] }, { memoryProjection: true })).toThrow(/memoryProjection needs a decoder/)
  })

  for (const which of ['f32', 'compact'] as const) {
    it(`${which}: the clean sample decodes the projected global embedding; memory in the provenance`, async () => {
      const engine = which === 'f32' ? f32 : compact
      const file = join(dir, 'purple.png')
      const opts = { regions: 'off' as const, noiseSamples: 0, cleanSample: true, retrieval: false, rerank: false, concepts: false }
      const on = ok((await captionFiles(engine, [{ file }], { ...opts, memoryProjection: true }))[0])
      const off = ok((await captionFiles(engine, [{ file }], opts))[0])
      const [enc] = await engine.embedImages([file])
      const g = (enc as { embedding: Float32Array }).embedding
      const projected = projectOntoMemory(engine.pack, g).vector
      const [want] = await engine.decode(on.options.decoder, [projected], { beam: 1, maxLength: 20 })
      const [plain] = await engine.decode(on.options.decoder, [g], { beam: 1, maxLength: 20 })
      expect(want!.logProb).not.toBeCloseTo(plain!.logProb, 3)
      const d = on.candidates[0]!.provenance.decoder!
      expect(on.candidates[0]!.text).toBe(want!.text)
      expect(d.logProb).toBeCloseTo(want!.logProb, 5)
      expect(off.candidates[0]!.provenance.decoder!.logProb).toBeCloseTo(plain!.logProb, 5)
      expect(d.memory).toEqual({ rows: 8, tau: MEMORY_TAU })
      expect(off.candidates[0]!.provenance.decoder!.memory).toBeUndefined()
      expect(v.parse(EngineCandidate, on.candidates[0]).provenance.decoder?.memory).toEqual({ rows: 8, tau: MEMORY_TAU })
    })
  }

  it('noise is drawn around the projected (fused, realigned) vector', async () => {
    const file = join(dir, 'purple.png')
    const opts = { regions: 'off' as const, noiseSamples: 3, noiseVariance: 0.05, cleanSample: false, retrieval: false, rerank: false, concepts: false, align: 'ridge' as const, alignPrefix: true, seed: 5 }
    const on = ok((await captionFiles(f32, [{ file }], { ...opts, memoryProjection: true }))[0])
    const [enc] = await f32.embedImages([file])
    const g = (enc as { embedding: Float32Array }).embedding
    const base = projectOntoMemory(f32.pack, f32.realign(g, 'ridge')!).vector
    const decoded = await f32.decode(on.options.decoder, noiseSamples(base, 3, 0.05, 5, false).map((s) => s.prefix), { beam: 1, maxLength: 20 })
    const byText = new Map(decoded.map((d) => [d.text, d.logProb]))
    for (const c of on.candidates) {
      expect(byText.has(c.text)).toBe(true)
      expect(c.provenance.decoder!.logProb).toBeCloseTo(Math.max(...decoded.filter((d) => d.text === c.text).map((d) => d.logProb)), 5)
      expect(c.provenance.decoder!.samples.every((s) => s.index >= 0 && s.seed !== null)).toBe(true)
    }
  })
})
