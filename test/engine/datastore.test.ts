// The compact caption datastore (src/main/engine/packs/datastore-*.ts): writer → reader round trip with the
// derived int8 error bound, deduplication, input checks, and clear model_errors for damaged files.
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DatastoreWriter } from '../../src/main/engine/packs/datastore-writer'
import { openCompactDatastore } from '../../src/main/engine/packs/datastore-reader'
import { captionKey, int8Bound, vectorsLayout } from '../../src/main/engine/packs/datastore-format'
import { loadPack } from '../../src/main/engine/packs/pack'
import type { CompactDatastoreSpec } from '../../src/main/engine/packs/pack-schema'
import { syntheticQueries, syntheticRows, syntheticWorld } from '../../src/main/eval/bench/synthetic-embeddings'
import { writeCompactFakePack } from './helpers/fake-pack'

const tmp = () => mkdtempSync(join(tmpdir(), 'datastore-'))
const SOURCES = [
  { id: 0, name: 'COCO captions 2017 train', licence: 'CC BY 4.0', attribution: 'COCO Consortium' },
  { id: 7, name: 'Other', licence: 'CC0-1.0' }
]

async function write(dir: string, captions: string[], rows: Float32Array, dim: number, opts: { source?: (i: number) => number; index?: 'always' | 'never' } = {}) {
  const w = await DatastoreWriter.create(dir, { dim, sources: SOURCES, index: opts.index ?? 'never' })
  // several add() calls of uneven size, alternating sources
  for (let s = 0; s < captions.length; s += 700) {
    const e = Math.min(captions.length, s + 700)
    await w.add(captions.slice(s, e), rows.subarray(s * dim, e * dim), opts.source?.(s) ?? 0)
  }
  return w.finish()
}

describe('compact datastore', () => {
  it('round-trips captions, sources and int8 rows within the derived error bound', async () => {
    const dim = 64
    const w = syntheticWorld(dim, 40, 3)
    const rows = syntheticRows(w, 0, 600) // 3000 rows
    const n = rows.length / dim
    const captions = Array.from({ length: n }, (_, i) => `caption ${i} — ünïcode ✓`)
    const dir = tmp()
    const res = await write(dir, captions, rows, dim, { source: (s) => (s / 700) % 2 === 0 ? 0 : 7 })
    expect(res.stats).toMatchObject({ added: n, rows: n, duplicates: 0, empty: 0, indexSeconds: null })
    expect(res.datastore.index).toBeUndefined()
    expect(res.files.map((f) => f.path).sort()).toEqual(['datastore.captions.bin', 'datastore.vectors.i8'])
    for (const f of res.files) {
      const buf = readFileSync(join(dir, f.path))
      expect(buf.byteLength).toBe(f.bytes)
      expect(createHash('sha256').update(buf).digest('hex')).toBe(f.sha256)
    }
    expect(res.files.find((f) => f.path.endsWith('.i8'))!.bytes).toBe(vectorsLayout(n, dim).bytes)
    expect(readdirSync(dir).some((f) => f.endsWith('.part'))).toBe(false)

    const ds = await openCompactDatastore(dir, res.datastore, dim)
    expect(ds.rows).toBe(n)
    expect(ds.mode).toBe('exact')
    for (const i of [0, 1, 699, 700, 1400, n - 1]) {
      expect(ds.caption(i)).toBe(captions[i])
      expect(ds.source(i)?.id).toBe(Math.floor(i / 700) % 2 === 0 ? 0 : 7)
    }
    expect(ds.source(0)).toEqual(SOURCES[0])

    // Per element |x − s·q| ≤ s/2; per query |x·y − s·(q·y)| ≤ (s/2)·‖y‖₁ (int8Bound); and the RMS error of
    // x·y in units of s matches rounding noise, uniform on ±1/2, so √(1/12) for a unit y.
    const qs = syntheticQueries(w, 600, 8, 11)
    const q8 = new Int8Array(dim)
    let sq = 0
    let count = 0
    let worstElement = -Infinity // max over elements of |x − s·q| − s/2
    let worstDot = -Infinity // max over (row, query) of |x·y − s·(q·y)| − bound
    for (let i = 0; i < n; i++) {
      ds.rowInto(i, q8)
      const s = ds.scales[i]!
      for (let k = 0; k < dim; k++) worstElement = Math.max(worstElement, Math.abs(rows[i * dim + k]! - s * q8[k]!) - s / 2)
      for (let j = 0; j < 8; j++) {
        const y = qs.subarray(j * dim, (j + 1) * dim)
        let exact = 0
        let approx = 0
        for (let k = 0; k < dim; k++) {
          exact += rows[i * dim + k]! * y[k]!
          approx += s * q8[k]! * y[k]!
        }
        worstDot = Math.max(worstDot, Math.abs(exact - approx) - int8Bound(s, y))
        sq += ((exact - approx) / s) ** 2
        count++
      }
    }
    expect(worstElement).toBeLessThanOrEqual(1e-7)
    expect(worstDot).toBeLessThanOrEqual(1e-6)
    const rms = Math.sqrt(sq / count)
    expect(rms).toBeGreaterThan(0.8 * Math.sqrt(1 / 12))
    expect(rms).toBeLessThan(1.2 * Math.sqrt(1 / 12))
    ds.close()
  })

  it('deduplicates captions on the normalised text, keeping the first occurrence', async () => {
    expect(captionKey('  A  dog\tRuns on grass. ')).toBe('a dog runs on grass')
    expect(captionKey('Two cats...')).toBe('two cats..')
    const dim = 8
    const captions = ['A dog runs on grass.', 'a dog runs on grass', '  A   DOG runs on grass ', 'A cat.', '   ', 'a cat', 'A dog runs on grass!']
    const rows = new Float32Array(captions.length * dim)
    captions.forEach((_, i) => (rows[i * dim + (i % dim)] = 1))
    const dir = tmp()
    const res = await write(dir, captions, rows, dim)
    expect(res.stats).toMatchObject({ added: 7, rows: 3, duplicates: 3, empty: 1 })
    const ds = await openCompactDatastore(dir, res.datastore, dim)
    expect([0, 1, 2].map((i) => ds.caption(i))).toEqual(['A dog runs on grass.', 'A cat.', 'A dog runs on grass!'])
    // the kept rows are the first occurrences' embeddings (rows 0, 3, 6 → axes 0, 3, 6)
    const r = new Int8Array(dim)
    expect([...ds.rowInto(1, r)]).toEqual([0, 0, 0, 127, 0, 0, 0, 0])
    expect([...ds.rowInto(2, r)]).toEqual([0, 0, 0, 0, 0, 0, 127, 0])
  })

  it('rejects bad input with invalid_input and leaves no partial files after abort', async () => {
    const dir = tmp()
    const w = await DatastoreWriter.create(dir, { dim: 4, sources: SOURCES })
    await expect(w.add(['a'], new Float32Array([1, 0, 0]), 0)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/1 captions need 4 embedding values/) })
    await expect(w.add(['a'], new Float32Array([2, 0, 0, 0]), 0)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/norm 2.*L2-normalised/) })
    await expect(w.add(['a'], new Float32Array([NaN, 0, 0, 0]), 0)).rejects.toMatchObject({ code: 'invalid_input' })
    await expect(w.add(['a'], new Float32Array([1, 0, 0, 0]), 3)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/source id 3/) })
    await w.add(['ok'], new Float32Array([0, 1, 0, 0]), 7)
    expect(w.rows).toBe(1)
    await w.abort()
    expect(readdirSync(dir)).toEqual([])
    await expect(DatastoreWriter.create(dir, { dim: 4, sources: [] })).rejects.toMatchObject({ code: 'invalid_input' })
    const empty = await DatastoreWriter.create(dir, { dim: 4, sources: SOURCES })
    await expect(empty.finish()).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/empty/) })
    expect(readdirSync(dir)).toEqual([])
  })
})

describe('damaged datastore files', () => {
  // Re-hash a file into pack.json, as a pack author who shipped a bad file would have: only our own checks
  // stand between it and the loader then.
  function rehash(dir: string, file: string): void {
    const p = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as { files: { path: string; bytes: number; sha256: string }[] }
    const buf = readFileSync(join(dir, file))
    const e = p.files.find((f) => f.path === file)!
    e.bytes = buf.byteLength
    e.sha256 = createHash('sha256').update(buf).digest('hex')
    writeFileSync(join(dir, 'pack.json'), JSON.stringify(p))
  }
  const spec = (dir: string) => (JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as { datastore: CompactDatastoreSpec }).datastore

  async function pack(index: 'always' | 'never'): Promise<string> {
    const dir = join(tmp(), 'pack')
    await writeCompactFakePack(dir, { index })
    return dir
  }

  it('a changed byte fails sha256 verification before anything is read', async () => {
    const dir = await pack('never')
    const f = join(dir, 'datastore.captions.bin')
    const buf = readFileSync(f)
    buf[70] = buf[70]! ^ 0xff
    writeFileSync(f, buf)
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/datastore\.captions\.bin is corrupted/) })
  })

  it('truncated or mislabelled files give a model_error naming the file', async () => {
    let dir = await pack('never')
    truncateSync(join(dir, 'datastore.captions.bin'), readFileSync(join(dir, 'datastore.captions.bin')).byteLength - 3)
    rehash(dir, 'datastore.captions.bin')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/datastore\.captions\.bin: .*truncated/) })

    dir = await pack('never')
    truncateSync(join(dir, 'datastore.vectors.i8'), 40)
    rehash(dir, 'datastore.vectors.i8')
    // pack.json's listed size no longer matches rows × dim: refused before any file is opened
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/datastore\.vectors \(datastore\.vectors\.i8\) is 40 bytes/) })

    dir = await pack('never')
    const vec = readFileSync(join(dir, 'datastore.vectors.i8'))
    vec.write('NOTAVECS', 0, 'latin1')
    writeFileSync(join(dir, 'datastore.vectors.i8'), vec)
    rehash(dir, 'datastore.vectors.i8')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/datastore\.vectors\.i8: not a datastore vectors file/) })

    dir = await pack('never')
    const cap = readFileSync(join(dir, 'datastore.captions.bin'))
    const rows = spec(dir).rows
    const offsetsAt = cap.byteLength - rows * 2 - (rows + 1) * 4
    cap.writeUInt32LE(cap.readUInt32LE(offsetsAt + 8) + 1000, offsetsAt + 4) // offset 1 jumps past offset 2
    writeFileSync(join(dir, 'datastore.captions.bin'), cap)
    rehash(dir, 'datastore.captions.bin')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/caption offset 2 goes backwards/) })

    dir = await pack('never')
    const good = readFileSync(join(dir, 'datastore.captions.bin'))
    good.writeUInt16LE(9, good.byteLength - 2) // last row names an undeclared source
    writeFileSync(join(dir, 'datastore.captions.bin'), good)
    rehash(dir, 'datastore.captions.bin')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/row 7 names source id 9/) })
  })

  it('a truncated or foreign index file gives a model_error, and a good one loads', async () => {
    const dir = await pack('always')
    expect(existsSync(join(dir, 'datastore.index.0.usearch'))).toBe(true)
    const ok = await loadPack(dir)
    expect(ok.compactDatastore?.mode).toBe('index')
    ok.compactDatastore?.close()
    expect(spec(dir).index).toMatchObject({ quantization: 'b1', metric: 'hamming', centre: 'datastore.index.centre.f32' })

    const centre = join(dir, 'datastore.index.centre.f32')
    const goodCentre = readFileSync(centre)
    writeFileSync(centre, goodCentre.subarray(0, 12))
    rehash(dir, 'datastore.index.centre.f32')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/centre\.f32: 12 bytes, a 8-d centre needs 32/) })
    writeFileSync(centre, goodCentre)
    rehash(dir, 'datastore.index.centre.f32')

    const pj = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as { datastore: CompactDatastoreSpec }
    pj.datastore.index!.shardRows = 4 // 8 rows would then need two shard files
    writeFileSync(join(dir, 'pack.json'), JSON.stringify(pj))
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/1 shard files for 8 rows of 4 per shard \(expected 2\)/) })
    pj.datastore.index!.shardRows = 150_000
    writeFileSync(join(dir, 'pack.json'), JSON.stringify(pj))

    const f = join(dir, 'datastore.index.0.usearch')
    const full = readFileSync(f)
    truncateSync(f, full.byteLength - 10)
    rehash(dir, 'datastore.index.0.usearch')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/datastore\.index\.0\.usearch: /) })

    writeFileSync(f, Buffer.concat([full.subarray(0, 8), Buffer.alloc(full.byteLength - 8, 1)]))
    rehash(dir, 'datastore.index.0.usearch')
    await expect(loadPack(dir)).rejects.toMatchObject({ code: 'model_error', message: expect.stringMatching(/not a usearch index file/) })
  })
})
