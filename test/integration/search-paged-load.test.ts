// A pack space read from the store in pages ([Note: paged space load] in src/main/search/library-search.ts):
// the same rows and vectors as one read, the host's loop keeps turning between pages, and an embedding
// written while the pages are read is not lost, and such a write does not make the load read the space again
// in one go (every read is a page).
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/main/store/db'
import { EmbeddingsRepo } from '../../src/main/store/embeddings-repo'
import { LibrarySearch } from '../../src/main/search/library-search'
import { normalized } from '../../src/main/search/quantize'
import { mulberry32 } from '../../src/main/engine/math/rng'
import { tempDir } from '../fixtures/images'

const SPACE = { packId: 'p', version: '1' }
const DIM = 16

/** `rows` images with an embedding each, but those listed in `without` (image ids, from 1) have none. */
function store(rows: number, without: ReadonlySet<number> = new Set()): { repo: EmbeddingsRepo; vectors: Float32Array[]; addImage: () => number } {
  const db = openDatabase(join(tempDir('paged-load'), 'studio.sqlite'))
  db.prepare(`INSERT INTO roots (path) VALUES (?)`).run('/nowhere')
  const repo = new EmbeddingsRepo(db)
  const img = db.prepare(`INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms) VALUES (1, ?, ?, 1, 0)`)
  const rnd = mulberry32(3)
  const vectors: Float32Array[] = []
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const id = Number(img.run(`r${i}.png`, `h${i}`).lastInsertRowid)
      const v = normalized(Float32Array.from({ length: DIM }, () => rnd() * 2 - 1))
      vectors.push(v)
      if (!without.has(id)) repo.put(SPACE, id, v)
    }
  })()
  return { repo, vectors, addImage: () => Number(img.run(`new${Math.random()}.png`, `n${Math.random()}`).lastInsertRowid) }
}

describe('paged space load', () => {
  it('reads the same ids and vectors as one read, yielding to the loop between pages', async () => {
    const { repo } = store(10_000)
    const paged = new LibrarySearch(repo, { phashes: async () => new Map() })
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    const s = await paged.loaded(SPACE)
    clearInterval(timer)
    const whole = new LibrarySearch(repo, { phashes: async () => new Map() }).space(SPACE)
    expect(s.size).toBe(10_000)
    expect(whole.size).toBe(10_000)
    for (const id of [1, 1024, 1025, 8192, 8193, 10_000]) expect(Array.from(s.vector(id)!)).toEqual(Array.from(whole.vector(id)!))
    // 10,000 rows are ten pages: the loop ran between them
    expect(ticks).toBeGreaterThan(0)
    // loaded once: the same space object afterwards
    expect(await paged.loaded(SPACE)).toBe(s)
    expect(paged.space(SPACE)).toBe(s)
  })

  it('an embedding rewritten while the pages are read is kept, not the stale stored one', async () => {
    const { repo, vectors } = store(9_000)
    const search = new LibrarySearch(repo, { phashes: async () => new Map() })
    const loading = search.loaded(SPACE)
    // image 1 is in the first page, already read when this runs; its new vector must win
    const fresh = normalized(Float32Array.from({ length: DIM }, (_, k) => (k === 0 ? 1 : 0)))
    await new Promise((r) => setImmediate(r))
    search.keep(SPACE, 1, fresh)
    const s = await loading
    expect(s.size).toBe(9_000)
    const got = s.vector(1)!
    expect(got[0]).toBeGreaterThan(0.99)
    expect(Math.abs(got[1]!)).toBeLessThan(0.01)
    expect(vectors[0]![0]).toBeLessThan(0.99)
  })

  it('writes landing during the load are all there afterwards, and every read of the load is a page', async () => {
    // image 5 (first page) and 4,000 (fourth page) have no stored embedding when the load starts
    const { repo, addImage } = store(9_000, new Set([5, 4_000]))
    const limits: number[] = []
    const load = repo.load.bind(repo)
    repo.load = (space, afterId, limit) => {
      limits.push(limit ?? -1)
      return load(space, afterId, limit)
    }
    const search = new LibrarySearch(repo, { phashes: async () => new Map() })
    const unit = (k: number) => normalized(Float32Array.from({ length: DIM }, (_, j) => (j === k ? 1 : 0)))
    let done = false
    const loading = search.loaded(SPACE).finally(() => (done = true))
    // one write per turn of the loop while the pages are read: new embeddings behind the cursor and ahead of
    // it, a new image past the last stored id, and image 1 rewritten twice (the last write must win)
    const writes: [number, number][] = [[5, 0], [4_000, 1], [1, 2], [addImage(), 3], [1, 4]]
    let w = 0
    while (!done && w < writes.length) {
      const [id, k] = writes[w++]!
      search.keep(SPACE, id, unit(k))
      await new Promise((r) => setImmediate(r))
    }
    const s = await loading
    expect(w).toBe(writes.length) // all landed before the load finished
    expect(s.size).toBe(9_001)
    const last = new Map(writes)
    for (const [id, k] of last) {
      const got = s.vector(id)!
      expect(got[k], `image ${id}`).toBeGreaterThan(0.99)
    }
    // no read without a page limit, and no second pass: ceil(9,000 / 1,024) pages of at most 1,024 rows
    expect(limits.every((l) => l > 0 && l <= 1_024)).toBe(true)
    expect(limits).toHaveLength(Math.ceil(9_000 / 1_024))
    // the same as one read of the store afterwards
    const whole = new LibrarySearch(repo, { phashes: async () => new Map() }).space(SPACE)
    expect(whole.size).toBe(s.size)
    for (const id of [1, 5, 4_000, 8_999, ...last.keys()]) expect(Array.from(s.vector(id)!)).toEqual(Array.from(whole.vector(id)!))
    // and kept current after it
    search.keep(SPACE, 2, unit(5))
    expect(search.space(SPACE)).toBe(s)
    expect(s.vector(2)![5]).toBeGreaterThan(0.99)
  })
})
