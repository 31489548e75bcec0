// The grid's reads in pages ([Note: paged reads] in src/main/store/images-repo.ts): listIdsPaged and
// countsPaged give what the one-statement reads give (every filter, a text search, two roots, a removed root,
// errors, duplicates, captions), with page sizes that do not divide the row count, and the loop turns between
// pages.
import { describe, expect, it } from 'vitest'
import type { ImageFilter } from '../../src/shared/contract/library'
import { openDatabase } from '../../src/main/store/db'
import { ImagesRepo } from '../../src/main/store/images-repo'

function library(): ImagesRepo {
  const db = openDatabase(':memory:')
  const images = new ImagesRepo(db)
  const roots = [images.addRoot('/b'), images.addRoot('/a'), images.addRoot('/gone')]
  const cap = db.prepare(`INSERT INTO captions (image_id, text, status, source_kind) VALUES (?, ?, ?, 'human')`)
  images.transaction(() => {
    for (let i = 0; i < 1000; i++) {
      const root = roots[i % 3]!
      // paths out of insertion order, so the keyset order differs from id order
      const relPath = `d${(i * 7919) % 13}/p${(i * 104729) % 1000}.jpg`
      const canonical = i % 50 === 49 ? images.byPath(root.id, `d${((i - 3) * 7919) % 13}/p${((i - 3) * 104729) % 1000}.jpg`) : undefined
      const id = images.insert({ rootId: root.id, relPath, hash: `h${i % 50 === 49 ? i - 3 : i}`, bytes: 1, mtimeMs: 1, scanGen: 1, width: 1, height: 1, orientation: 1, format: 'jpeg', error: i % 17 === 0 ? 'bad' : null }, canonical?.id ?? null)
      if (i % 5 === 0) cap.run(id, `a dog number ${i}`, 'accepted')
      else if (i % 7 === 0) cap.run(id, `a cat number ${i}`, 'candidate')
    }
  })
  images.removeRoot(roots[2]!.id)
  return images
}

describe('paged grid reads', () => {
  const images = library()

  it('listIdsPaged equals listIds for every filter and a text search, whatever the page size', async () => {
    const filters: ImageFilter[] = ['all', 'uncaptioned', 'accepted', 'candidates', 'errors', 'failed']
    for (const filter of filters)
      for (const search of ['', 'dog', 'p1'])
        for (const page of [1, 7, 100, 4096]) {
          const want = images.listIds(filter, search)
          expect(await images.listIdsPaged(filter, search, page), `${filter} "${search}" page ${page}`).toEqual(want)
        }
    expect(images.listIds('all', '').length).toBeGreaterThan(600)
  })

  it('countsPaged equals counts, and yields between pages', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    for (const page of [1, 33, 999, 1000, 5000]) expect(await images.countsPaged(page)).toEqual(images.counts())
    clearInterval(timer)
    expect(ticks).toBeGreaterThan(0)
    const c = images.counts()
    expect(c.duplicates).toBeGreaterThan(0)
    expect(c.errors).toBeGreaterThan(0)
    expect(c.accepted).toBeGreaterThan(0)
  })
})

describe('the missing sweep at the end of a scan ([Note: paged sweep])', () => {
  it('marks exactly the unseen rows of the root missing, across several pages, turning the loop between them', async () => {
    const images = new ImagesRepo(openDatabase(':memory:'))
    const [a, b] = [images.addRoot('/a'), images.addRoot('/b')]
    images.transaction(() => {
      for (let i = 0; i < 10_000; i++) {
        const root = i % 4 === 0 ? b : a
        // scan 1 saw everything; scan 2 of root a sees all but every 7th
        images.insert({ rootId: root.id, relPath: `p${i}.jpg`, hash: `h${i}`, bytes: 1, mtimeMs: 1, scanGen: root === a && i % 7 !== 0 ? 2 : 1, width: 1, height: 1, orientation: 1, format: 'jpeg', error: null }, null)
      }
    })
    let turns = 0
    const ticker = setInterval(() => turns++, 0)
    const gone = await images.markUnseenMissing(a.id, 2)
    clearInterval(ticker)
    const want = Array.from({ length: 10_000 }, (_, i) => i).filter((i) => i % 4 !== 0 && i % 7 === 0).map((i) => `p${i}.jpg`)
    expect(gone.map((r) => r.rel_path).sort()).toEqual(want.sort())
    expect(turns).toBeGreaterThanOrEqual(1)
    // root b's rows (scan 1 only) are untouched; a second sweep finds nothing new
    expect(images.byPath(b.id, 'p0.jpg')?.missing).toBe(0)
    expect(images.byPath(b.id, 'p28.jpg')?.missing).toBe(0)
    expect(images.byPath(a.id, 'p7.jpg')?.missing).toBe(1)
    expect(images.byPath(a.id, 'p9999.jpg')?.missing).toBe(0)
    expect(await images.markUnseenMissing(a.id, 2)).toEqual([])
  })
})
