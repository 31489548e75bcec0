// The dataset health domain (health.summary, store/health-repo.ts) on a temp library with captions, scores,
// tags and failed job items, checked against the same figures computed in JS from the rows; and the grid
// filters its plots click into (review.query minWords/maxWords, status 'failed'). Then 50,000 rows written
// straight into the database: the aggregates still match (the time is printed, not asserted).
import { beforeEach, describe, expect, it } from 'vitest'
import type { OpInput, OpName, OpOutput } from '../../src/shared/contract'
import type { ImageSummary } from '../../src/shared/contract/library'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, tempDir } from '../fixtures/images'

let services: Services
let id: Record<string, number>
const call = <K extends OpName>(op: K, input: OpInput<K>) => services.call(op, input) as Promise<OpOutput<K>>
const words = (t: string) => t.trim().split(/\s+/).length

beforeEach(async () => {
  const folder = await makeImageFolder()
  services = createServices(tempDir('health'), 'cli', { resumeJobs: false })
  await call('library.addRoot', { path: folder.root })
  await call('library.waitForScans', {})
  const { ids } = await call('library.listIds', {})
  id = Object.fromEntries(((await call('library.getImages', { ids })) as ImageSummary[]).map((r) => [r.relPath, r.id]))
  return () => services.close()
})

function candidate(imageId: number, text: string, clipS: number) {
  return services.ctx.captions.addCandidates(imageId, [{ text, scores: { clipS, score: clipS }, source: { kind: 'model', packId: 'test-pack', method: 'decoder' } }])[0]!
}

/** Accepted captions: four from scored candidates, one typed by hand (no score). */
async function seed(): Promise<{ text: string; clipS: number | null; imageId: number }[]> {
  const plan: [string, string, number | null][] = [
    ['a/red.jpg', 'a red square', 0.31],
    ['a/green.png', 'a green square on a gray background', 0.22],
    ['b/red.jpg', 'blue', 0.27],
    ['alpha.png', 'a faint red tile with a transparent border all around it', 0.35],
    ['rotated.jpg', 'a red square turned on its side', null]
  ]
  for (const [path, text, clipS] of plan) {
    const imageId = id[path]!
    if (clipS === null) await call('captions.accept', { imageId, text })
    else await call('captions.accept', { imageId, text, fromCandidateId: candidate(imageId, text, clipS).id })
  }
  await call('review.addTag', { imageIds: [id['a/red.jpg']!, id['b/red.jpg']!, id['alpha.png']!], tag: 'red' })
  await call('review.addTag', { imageIds: [id['a/green.png']!], tag: 'green' })
  return plan.map(([path, text, clipS]) => ({ text, clipS, imageId: id[path]! }))
}

describe('health.summary', () => {
  it('counts, caption-length and score histograms, and tags agree with the rows', async () => {
    const accepted = await seed()
    const h = await call('health.summary', { lengthBins: 4, scoreBins: 5 })
    const counts = await call('library.counts', {})
    expect(h).toMatchObject({ images: counts.total, accepted: 5, uncaptioned: counts.uncaptioned, unreadable: counts.errors, exactDuplicates: counts.duplicates, failed: 0 })
    // lengths: whole-word bins from the shortest caption, every caption in the bin that holds its word count
    const lens = accepted.map((a) => words(a.text))
    expect(h.length.max).toBe(Math.max(...lens))
    expect(h.length.mean).toBeCloseTo(lens.reduce((x, y) => x + y, 0) / lens.length, 9)
    expect(h.length.bins[0]!.lo).toBe(Math.min(...lens))
    expect(h.length.bins.length).toBeLessThanOrEqual(4)
    for (const b of h.length.bins) expect(b.count).toBe(lens.filter((n) => n >= b.lo && n < b.hi).length)
    expect(h.length.bins.reduce((n, b) => n + b.count, 0)).toBe(5)
    // scores: the hand-typed caption has none
    const scores = accepted.map((a) => a.clipS).filter((s): s is number => s !== null)
    expect(h.score).toMatchObject({ key: 'clipS', scored: 4, unscored: 1 })
    expect(h.score.bins).toHaveLength(5)
    expect(h.score.bins[0]!.lo).toBeCloseTo(Math.min(...scores), 9)
    expect(h.score.bins[4]!.hi).toBeCloseTo(Math.max(...scores), 9)
    h.score.bins.forEach((b, k) => expect(b.count, `bin ${k}`).toBe(scores.filter((s) => s >= b.lo - 1e-12 && (k === 4 ? s <= b.hi + 1e-12 : s < b.hi - 1e-12)).length))
    expect(h.tags.slice(0, 2)).toEqual([
      { tag: 'red', kind: 'keyword', images: 3 },
      { tag: 'green', kind: 'keyword', images: 1 }
    ])
  })

  it('a clicked length bin lists exactly the images whose accepted caption has that many words', async () => {
    const accepted = await seed()
    const { ids } = await call('review.query', { status: 'accepted', minWords: 3, maxWords: 7 })
    expect(new Set(ids)).toEqual(new Set(accepted.filter((a) => words(a.text) >= 3 && words(a.text) <= 7).map((a) => a.imageId)))
    expect(ids.length).toBe(3)
    // a score bin: the accepted captions scored in [0.25, 0.32]
    const r = await call('review.query', { status: 'accepted', scoreKey: 'clipS', minScore: 0.25, maxScore: 0.32 })
    expect(new Set(r.ids)).toEqual(new Set([id['a/red.jpg'], id['b/red.jpg']]))
  })

  it("counts and filters images whose last caption attempt failed ('failed')", async () => {
    const db = services.ctx.db
    const job = (n: number) => Number(db.prepare(`INSERT INTO jobs (kind, state) VALUES ('caption', 'done')`).run().lastInsertRowid) + n * 0
    const item = db.prepare(`INSERT INTO job_items (job_id, seq, image_id, state, error) VALUES (?, ?, ?, ?, ?)`)
    const j1 = job(1)
    item.run(j1, 0, id['a/red.jpg'], 'failed', 'boom')
    item.run(j1, 1, id['a/green.png'], 'failed', 'boom')
    item.run(j1, 2, id['alpha.png'], 'failed', 'boom')
    const j2 = job(2)
    item.run(j2, 0, id['a/green.png'], 'done', null) // retried: fine now
    await call('captions.accept', { imageId: id['alpha.png']!, text: 'captioned by hand after all' })
    const h = await call('health.summary', {})
    expect(h.failed).toBe(1)
    expect((await call('library.listIds', { filter: 'failed' })).ids).toEqual([id['a/red.jpg']])
  })

  it('at 50,000 images the aggregates still match the rows', async () => {
    const db = services.ctx.db
    const rootId = (await call('library.listRoots', {}))[0]!.id
    const n = 50_000
    const img = db.prepare(`INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms, width, height) VALUES (?, ?, ?, 1000, 0, 640, 480)`)
    const cap = db.prepare(`INSERT INTO captions (image_id, text, status, source_kind, scores) VALUES (?, ?, 'accepted', 'model', ?)`)
    const tag = db.prepare(`INSERT INTO image_tags (image_id, tag, kind, source) VALUES (?, ?, 'keyword', 'human')`)
    let expectWords = 0
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const imageId = Number(img.run(rootId, `big/${i}.jpg`, `h${i}`).lastInsertRowid)
        if (i % 5 === 4) continue // uncaptioned
        const w = 1 + (i % 17)
        expectWords += w
        cap.run(imageId, Array.from({ length: w }, (_, k) => `w${k}`).join(' '), JSON.stringify({ clipS: (i % 100) / 100 }))
        if (i % 3 === 0) tag.run(imageId, 'every-third')
      }
    })()
    const t = performance.now()
    const h = await call('health.summary', {})
    process.stdout.write(`[health] summary over ${h.images} images: ${(performance.now() - t).toFixed(0)} ms\n`)
    expect(h.accepted).toBe(n * 0.8)
    expect(h.length.bins.reduce((s, b) => s + b.count, 0)).toBe(n * 0.8)
    expect(h.length.max).toBe(17)
    expect(h.length.mean! * h.accepted).toBeCloseTo(expectWords, 3)
    expect(h.score.scored).toBe(n * 0.8)
    expect(h.tags[0]).toEqual({ tag: 'every-third', kind: 'keyword', images: [...Array(n).keys()].filter((i) => i % 5 !== 4 && i % 3 === 0).length })
  }, 60_000)
})
