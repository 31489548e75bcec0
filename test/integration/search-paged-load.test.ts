// A pack space read from the store in pages ([Note: paged space load] in src/main/search/library-search.ts):
// the same rows and vectors as one read, the host's loop keeps turning between pages, and an embedding
// written while the pages are read is not lost.
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

function store(rows: number): { repo: EmbeddingsRepo; vectors: Float32Array[] } {
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
      repo.put(SPACE, id, v)
    }
  })()
  return { repo, vectors }
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
})
