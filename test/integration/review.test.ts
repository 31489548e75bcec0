// The review domain end to end on a temp library: grid query (status, score range, sort, tags, terms),
// term frequency, find & replace (preview, apply, history, empty results refused, invalid and runaway
// regexes), bulk accept/reject and tags. Each test gets a fresh data dir over the same image folder.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { OpInput, OpName, OpOutput, StudioEvent } from '../../src/shared/contract'
import type { ImageSummary } from '../../src/shared/contract/library'
import { createServices, type Services } from '../../src/main/services/services'
import { ReviewRepo } from '../../src/main/store/review-repo'
import { makeImageFolder, tempDir, type ImageFolder } from '../fixtures/images'

let folder: ImageFolder
let services: Services
let id: Record<string, number>
let events: StudioEvent[]

const call = <K extends OpName>(op: K, input: OpInput<K>) => services.call(op, input) as Promise<OpOutput<K>>
const accept = (imageId: number, text: string) => call('captions.accept', { imageId, text })
const model = (score: number, rank: number, extra: Record<string, number> = {}) => ({ score, rank, ...extra })
const addCandidates = (imageId: number, items: { text: string; scores: Record<string, number> }[]) =>
  services.ctx.captions.addCandidates(
    imageId,
    items.map((c) => ({ ...c, source: { kind: 'model' as const, packId: 'test-pack', method: 'decoder' } }))
  )
const history = async (imageId: number) => (await call('captions.forImage', { imageId })).history

beforeAll(async () => {
  folder = await makeImageFolder()
})

beforeEach(async () => {
  services = createServices(tempDir('review'), 'cli', { resumeJobs: false })
  await call('library.addRoot', { path: folder.root })
  await call('library.waitForScans', {})
  const { ids } = await call('library.listIds', {})
  const rows = (await call('library.getImages', { ids })) as ImageSummary[]
  id = Object.fromEntries(rows.map((r) => [r.relPath, r.id]))
  events = []
  services.ctx.subscribe((e) => events.push(e))
  return () => services.close()
})

/** A small reviewed library: accepted captions (typed, or a candidate accepted as-is) and open candidates. */
async function seed() {
  await accept(id['a/red.jpg']!, 'a red square on a gray background')
  await accept(id['b/photo.tiff']!, 'an orange square and a red square')
  addCandidates(id['a/green.png']!, [
    { text: 'a green square', scores: model(0.9, 0, { clipS: 0.8, aclipS: 0.7 }) },
    { text: 'a green box', scores: model(0.5, 1, { clipS: 0.85 }) }
  ])
  const [blue] = addCandidates(id['b/red.jpg']!, [{ text: 'a blue square', scores: model(0.4, 0, { clipS: 0.4 }) }])
  await call('captions.accept', { imageId: id['b/red.jpg']!, text: 'a blue square', fromCandidateId: blue!.id })
  addCandidates(id['b/deep/blue.webp']!, [{ text: 'a small blue square', scores: model(0.6, 0, { clipS: 0.6 }) }])
  events = []
}

describe('review.query', () => {
  it('filters by status and score range on the accepted caption or best candidate; sorts worst first', async () => {
    await seed()
    const all = await call('review.query', {})
    const plain = await call('library.listIds', {})
    expect(all.ids).toEqual(plain.ids)
    const scoreOf = (path: string) => all.scores[all.ids.indexOf(id[path]!)]
    // Accepted-in-place candidate keeps its score; a typed caption has none; candidates: the best on the key.
    expect(scoreOf('b/red.jpg')).toBe(0.4)
    expect(scoreOf('a/red.jpg')).toBeNull()
    expect(scoreOf('a/green.png')).toBe(0.85)
    expect((await call('review.query', { scoreKey: 'aclipS' })).scores[all.ids.indexOf(id['a/green.png']!)]).toBe(0.7)

    const worst = await call('review.query', { sort: 'score-asc' })
    expect(worst.ids.slice(0, 3)).toEqual([id['b/red.jpg'], id['b/deep/blue.webp'], id['a/green.png']])
    expect(worst.scores.slice(0, 3)).toEqual([0.4, 0.6, 0.85])
    expect(worst.scores.slice(3).every((s) => s === null)).toBe(true)
    const best = await call('review.query', { sort: 'score-desc' })
    expect(best.ids.slice(0, 3)).toEqual([id['a/green.png'], id['b/deep/blue.webp'], id['b/red.jpg']])
    expect(best.ids).toHaveLength(all.ids.length)

    const mid = await call('review.query', { minScore: 0.5, maxScore: 0.85 })
    expect(new Set(mid.ids)).toEqual(new Set([id['b/deep/blue.webp'], id['a/green.png']]))
    const candidates = await call('review.query', { status: 'candidates', sort: 'score-asc' })
    expect(candidates.ids).toEqual([id['b/deep/blue.webp'], id['a/green.png']])
    const accepted = await call('review.query', { status: 'accepted', maxScore: 0.5 })
    expect(accepted.ids).toEqual([id['b/red.jpg']])
    expect((await call('review.query', { search: 'orange' })).ids).toEqual([id['b/photo.tiff']])
  })

  it('filters by caption terms (whole words and phrases, case-insensitive) and excluded terms', async () => {
    await seed()
    const q = async (terms: string[], notTerms: string[] = []) => new Set((await call('review.query', { terms, notTerms })).ids)
    expect(await q(['square'])).toEqual(new Set([id['a/red.jpg'], id['b/photo.tiff'], id['b/red.jpg']]))
    expect(await q(['RED'])).toEqual(new Set([id['a/red.jpg'], id['b/photo.tiff']]))
    expect(await q(['red square'])).toEqual(new Set([id['a/red.jpg'], id['b/photo.tiff']]))
    expect(await q(['square red'])).toEqual(new Set())
    // "re" is not a word of any caption even though "red" contains it.
    expect(await q(['re'])).toEqual(new Set())
    expect(await q(['square'], ['orange'])).toEqual(new Set([id['a/red.jpg'], id['b/red.jpg']]))
    // Excluding keeps images without an accepted caption.
    expect((await q([], ['square'])).has(id['a/green.png']!)).toBe(true)
  })

  it('rejects an unsafe score key before it reaches SQL', async () => {
    await expect(call('review.query', { scoreKey: "x') OR 1=1 --" })).rejects.toMatchObject({ code: 'invalid_input' })
  })
})

describe('review.terms', () => {
  it('counts lowercase tokens of accepted captions, stop words removed, and the terms filter the grid', async () => {
    await seed()
    await accept(id['alpha.png']!, 'A Red circle. A red, red dot')
    const t = await call('review.terms', {})
    const get = (term: string) => t.terms.find((x) => x.term === term)
    expect(t.captions).toBe(4)
    expect(get('red')).toEqual({ term: 'red', count: 5, images: 3 })
    expect(get('square')).toEqual({ term: 'square', count: 4, images: 3 })
    expect(get('a')).toBeUndefined()
    expect(get('on')).toBeUndefined()
    expect(t.terms[0]!.term).toBe('red')
    for (let i = 1; i < t.terms.length; i++) expect(t.terms[i - 1]!.count).toBeGreaterThanOrEqual(t.terms[i]!.count)
    // Every listed term filters the grid to exactly the images it counted.
    for (const term of t.terms) expect((await call('review.query', { terms: [term.term] })).ids).toHaveLength(term.images)

    const withStops = await call('review.terms', { stopWords: false, limit: 2 })
    expect(withStops.terms).toEqual([
      { term: 'a', count: 6, images: 4 },
      { term: 'red', count: 5, images: 3 }
    ])
    expect(withStops.tokens).toBe(t.tokens)
    const bi = await call('review.terms', { bigrams: true })
    expect(bi.terms.find((x) => x.term === 'red square')).toEqual({ term: 'red square', count: 2, images: 2 })
    expect(bi.terms.some((x) => x.term.split(' ').includes('on'))).toBe(false)
    const scoped = await call('review.terms', { ids: [id['b/red.jpg']!] })
    expect(scoped.terms.map((x) => x.term).sort()).toEqual(['blue', 'square'])
  })
})

describe('find & replace', () => {
  it('previews every change with match spans and writes nothing', async () => {
    await seed()
    const before = await call('library.counts', {})
    const p = await call('review.replacePreview', { find: 'square', replace: 'box' })
    expect(p.matched).toBe(3)
    expect(p.changes.map((c) => c.imageId).sort()).toEqual([id['a/red.jpg'], id['b/photo.tiff'], id['b/red.jpg']].sort())
    const photo = p.changes.find((c) => c.imageId === id['b/photo.tiff'])!
    expect(photo).toMatchObject({ relPath: 'b/photo.tiff', before: 'an orange square and a red square', after: 'an orange box and a red box' })
    for (const c of p.changes) {
      for (const [s, e] of c.beforeSpans) expect(c.before.slice(s, e)).toBe('square')
      for (const [s, e] of c.afterSpans) expect(c.after.slice(s, e)).toBe('box')
      expect(c.beforeSpans).toHaveLength(c.afterSpans.length)
    }
    expect(photo.beforeSpans).toHaveLength(2)
    expect(await history(id['b/photo.tiff']!)).toHaveLength(1)
    expect(await call('library.counts', {})).toEqual(before)
    expect(events).toEqual([])
  })

  it('regex mode: groups, named groups, flags; literal mode treats $ and dots literally', async () => {
    await seed()
    const r = await call('review.replacePreview', { find: '(\\w+) (?<shape>square)', replace: '$<shape> of $1 ($$)', regex: true })
    expect(r.changes.find((c) => c.imageId === id['b/red.jpg'])!.after).toBe('a square of blue ($)')
    const ci = await call('review.replacePreview', { find: 'RED', replace: 'crimson', regex: true, flags: 'i' })
    expect(ci.changes.find((c) => c.imageId === id['a/red.jpg'])!.after).toBe('a crimson square on a gray background')
    expect((await call('review.replacePreview', { find: 'RED', replace: 'x', regex: true })).matched).toBe(0)
    const lit = await call('review.replacePreview', { find: 'a.', replace: '$1', ids: [id['b/red.jpg']!] })
    expect(lit.matched).toBe(0)
    await accept(id['alpha.png']!, 'price a. b')
    const lit2 = await call('review.replacePreview', { find: 'a.', replace: '$&$1' })
    expect(lit2.changes).toEqual([expect.objectContaining({ imageId: id['alpha.png'], after: 'price $&$1 b' })])
    // Whitespace left by a deletion is collapsed as in every stored caption, and the span still points right.
    const del = await call('review.replacePreview', { find: ' and a red square', replace: '' })
    expect(del.changes).toEqual([expect.objectContaining({ after: 'an orange square', afterSpans: [[16, 16]] })])
  })

  it('refuses invalid regexes and flags with invalid_input, and stops a runaway regex', async () => {
    await seed()
    await expect(call('review.replacePreview', { find: '(unclosed', replace: 'x', regex: true })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/invalid regular expression/)
    })
    await expect(call('review.replaceApply', { find: '[z-a]', replace: 'x', regex: true })).rejects.toMatchObject({ code: 'invalid_input' })
    await expect(call('review.replacePreview', { find: 'a', replace: 'b', regex: true, flags: 'gg' })).rejects.toMatchObject({ code: 'invalid_input' })
    await expect(call('review.replacePreview', { find: 'a', replace: 'b', regex: true, flags: 'y' })).rejects.toMatchObject({ code: 'invalid_input' })
    await expect(call('review.replacePreview', { find: '', replace: 'b' })).rejects.toMatchObject({ code: 'invalid_input' })
    // The same text in literal mode is fine.
    expect((await call('review.replacePreview', { find: '(unclosed', replace: 'x' })).matched).toBe(0)
    await accept(id['alpha.png']!, `${'a'.repeat(34)}!`)
    const t0 = Date.now()
    await expect(call('review.replacePreview', { find: '(a+)+$', replace: 'x', regex: true })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/took longer/)
    })
    expect(Date.now() - t0).toBeLessThan(10_000)
  }, 20_000)

  it('apply: a new accepted row supersedes the old one (history kept, undoable); empty results are refused', async () => {
    await seed()
    await accept(id['alpha.png']!, 'square')
    const spec = { find: '\\bsquare\\b', replace: '', regex: true }
    const preview = await call('review.replacePreview', spec)
    expect(preview.skipped).toEqual([expect.objectContaining({ imageId: id['alpha.png'], reason: 'empty', before: 'square' })])
    expect(preview.changes.map((c) => c.imageId)).not.toContain(id['alpha.png'])

    const r = await call('review.replaceApply', { ...spec, captionIds: preview.changes.map((c) => c.captionId) })
    expect(r.changed).toBe(preview.changes.length)
    expect(r.changes.map((c) => c.after).sort()).toEqual(preview.changes.map((c) => c.after).sort())
    expect(events.filter((e) => e.type === 'library.changed')).toHaveLength(1)
    // The emptied caption was not written.
    expect((await call('captions.forImage', { imageId: id['alpha.png']! })).accepted?.text).toBe('square')

    const photo = await call('captions.forImage', { imageId: id['b/photo.tiff']! })
    expect(photo.accepted).toMatchObject({ text: 'an orange and a red', source: { kind: 'human', method: 'replace' } })
    expect(photo.history.map((h) => [h.status, h.text])).toEqual([
      ['superseded', 'an orange square and a red square'],
      ['accepted', 'an orange and a red']
    ])
    expect(photo.accepted!.parentId).toBe(photo.history[0]!.id)
    // Nothing stored is ever empty.
    for (const imageId of Object.values(id)) for (const h of await history(imageId)) expect(h.text.trim().length).toBeGreaterThan(0)

    const change = r.changes.find((c) => c.imageId === id['b/photo.tiff'])!
    await call('captions.undo', { imageId: change.imageId, captionId: change.captionId, previousId: change.previousId })
    expect((await call('captions.forImage', { imageId: change.imageId })).accepted?.text).toBe('an orange square and a red square')
  })

  it('apply changes only the previewed captions and reports those edited since as stale', async () => {
    await seed()
    const spec = { find: 'square', replace: 'tile' }
    const preview = await call('review.replacePreview', spec)
    await accept(id['a/red.jpg']!, 'a red square, edited meanwhile')
    await accept(id['alpha.png']!, 'a square added after the preview')
    const r = await call('review.replaceApply', { ...spec, captionIds: preview.changes.map((c) => c.captionId) })
    expect(r.changes.map((c) => c.imageId).sort()).toEqual([id['b/photo.tiff'], id['b/red.jpg']].sort())
    expect(r.skipped).toEqual([expect.objectContaining({ imageId: id['a/red.jpg'], reason: 'stale', before: 'a red square on a gray background' })])
    expect((await call('captions.forImage', { imageId: id['alpha.png']! })).accepted?.text).toBe('a square added after the preview')
    expect((await call('captions.forImage', { imageId: id['a/red.jpg']! })).accepted?.text).toBe('a red square, edited meanwhile')
    // Scoped to ids: only those images change.
    const scoped = await call('review.replaceApply', { find: 'square', replace: 'tile', ids: [id['alpha.png']!] })
    expect(scoped.changes).toEqual([expect.objectContaining({ imageId: id['alpha.png'], after: 'a tile added after the preview' })])
  })
})

describe('bulk accept and reject', () => {
  it('accepts the best candidate of each selected image and reports what it skipped', async () => {
    await seed()
    addCandidates(id['a/red.jpg']!, [{ text: 'a crimson square', scores: model(0.99, 0) }])
    // A second run ("more candidates") ranks its own list from 0 again: the ranking score decides.
    addCandidates(id['a/green.png']!, [{ text: 'a bright green square', scores: model(0.95, 0, { clipS: 0.5 }) }])
    const ids = [id['a/green.png']!, id['b/deep/blue.webp']!, id['a/red.jpg']!, id['anim.gif']!, 999_999]
    const r = await call('review.bulkAccept', { ids })
    expect(r.accepted.map((a) => a.imageId)).toEqual([id['a/green.png'], id['b/deep/blue.webp']])
    expect(r.skipped).toEqual([
      { imageId: id['a/red.jpg'], reason: 'already_accepted' },
      { imageId: id['anim.gif'], reason: 'no_candidate' },
      { imageId: 999_999, reason: 'not_found' }
    ])
    // Best by the ranking score (0.95): not the first inserted, not the highest clipS ('a green box').
    const green = await call('captions.forImage', { imageId: id['a/green.png']! })
    expect(green.accepted).toMatchObject({ text: 'a bright green square', source: { kind: 'model', packId: 'test-pack' } })
    expect(green.candidates.map((c) => c.text).sort()).toEqual(['a green box', 'a green square'])
    expect(events.filter((e) => e.type === 'library.changed')).toHaveLength(1)

    const again = await call('review.bulkAccept', { ids: [id['a/red.jpg']!], replaceAccepted: true })
    expect(again.accepted).toEqual([expect.objectContaining({ imageId: id['a/red.jpg'] })])
    const red = await call('captions.forImage', { imageId: id['a/red.jpg']! })
    expect(red.accepted?.text).toBe('a crimson square')
    expect(red.history.find((h) => h.text === 'a red square on a gray background')?.status).toBe('superseded')
  })

  it('rejects candidates, accepted captions or both; history kept', async () => {
    await seed()
    const r = await call('review.bulkReject', { ids: [id['a/green.png']!, id['a/red.jpg']!] })
    expect(r).toEqual({ rejected: 2, images: 1, skipped: [{ imageId: id['a/red.jpg'], reason: 'nothing_to_reject' }] })
    expect((await call('captions.forImage', { imageId: id['a/green.png']! })).candidates).toEqual([])
    expect((await history(id['a/green.png']!)).map((h) => h.status)).toEqual(['rejected', 'rejected'])

    const acc = await call('review.bulkReject', { ids: [id['a/red.jpg']!, id['b/photo.tiff']!], target: 'accepted' })
    expect(acc).toMatchObject({ rejected: 2, images: 2 })
    const counts = await call('library.counts', {})
    expect(counts.accepted).toBe(1)
    expect((await call('review.query', { status: 'uncaptioned' })).ids).toContain(id['a/red.jpg'])

    addCandidates(id['b/red.jpg']!, [{ text: 'a navy square', scores: model(0.3, 0) }])
    const both = await call('review.bulkReject', { ids: [id['b/red.jpg']!], target: 'both' })
    expect(both).toMatchObject({ rejected: 2, images: 1 })
    expect((await history(id['b/red.jpg']!)).every((h) => h.status === 'rejected')).toBe(true)
    await expect(call('review.bulkReject', { ids: [] })).rejects.toMatchObject({ code: 'invalid_input' })
  })
})

describe('review.undo', () => {
  it('undoes a whole replace in one call, skipping images changed since', async () => {
    await seed()
    const before = Object.fromEntries((await call('review.query', { status: 'accepted' })).ids.map((i) => [i, '']))
    for (const imageId of Object.keys(before)) before[imageId] = (await call('captions.forImage', { imageId: Number(imageId) })).accepted!.text
    const r = await call('review.replaceApply', { find: 'square', replace: 'tile' })
    expect(r.changed).toBe(3)
    await accept(id['b/red.jpg']!, 'a blue tile, edited by hand')
    events = []
    const u = await call('review.undo', { items: r.changes })
    expect(u).toEqual({ restored: 2, skipped: [{ imageId: id['b/red.jpg'], reason: 'changed' }] })
    expect(events.filter((e) => e.type === 'library.changed')).toHaveLength(1)
    for (const imageId of [id['a/red.jpg']!, id['b/photo.tiff']!]) {
      const c = await call('captions.forImage', { imageId })
      expect(c.accepted?.text).toBe(before[imageId])
      expect(c.history.map((h) => h.status)).toEqual(['superseded', 'superseded', 'accepted'])
    }
    expect((await call('captions.forImage', { imageId: id['b/red.jpg']! })).accepted?.text).toBe('a blue tile, edited by hand')
  })

  it('undoes a bulk accept: the model captions go back to being candidates', async () => {
    await seed()
    const r = await call('review.bulkAccept', { ids: [id['a/green.png']!, id['b/deep/blue.webp']!] })
    expect((await call('library.counts', {})).candidates).toBe(0)
    const u = await call('review.undo', { items: r.accepted })
    expect(u.restored).toBe(2)
    const green = await call('captions.forImage', { imageId: id['a/green.png']! })
    expect(green.accepted).toBeNull()
    expect(green.candidates.map((c) => c.text).sort()).toEqual(['a green box', 'a green square'])
    expect((await call('review.query', { status: 'candidates' })).ids.sort()).toEqual([id['a/green.png'], id['b/deep/blue.webp']].sort())
  })
})

describe('tags', () => {
  it('adds and removes keywords in bulk (case-insensitive), lists them and filters the grid by them', async () => {
    const pair = [id['a/red.jpg']!, id['a/green.png']!]
    expect(await call('review.addTag', { imageIds: pair, tag: '  Holiday   2024 ' })).toEqual({ added: 2 })
    expect(await call('review.addTag', { imageIds: [id['a/red.jpg']!, id['alpha.png']!], tag: 'holiday 2024' })).toEqual({ added: 1 })
    await call('review.addTag', { imageIds: [id['a/red.jpg']!], tag: 'red', kind: 'concept', source: 'model', score: 0.8 })
    const tags = (await call('review.tagsOf', { imageId: id['a/red.jpg']! })).tags
    expect(tags.map((t) => [t.tag, t.kind, t.source, t.score])).toEqual([
      ['Holiday 2024', 'keyword', 'human', null],
      ['red', 'concept', 'model', 0.8]
    ])
    expect(await call('review.allTags', {})).toEqual([
      { tag: 'Holiday 2024', kind: 'keyword', images: 3 },
      { tag: 'red', kind: 'concept', images: 1 }
    ])
    expect(new Set((await call('review.query', { tags: [{ tag: 'HOLIDAY 2024' }] })).ids)).toEqual(new Set([...pair, id['alpha.png']]))
    expect((await call('review.query', { tags: [{ tag: 'holiday 2024' }, { tag: 'red', kind: 'concept' }] })).ids).toEqual([id['a/red.jpg']])
    expect((await call('review.query', { tags: [{ tag: 'red', kind: 'keyword' }] })).ids).toEqual([])

    expect(await call('review.removeTag', { imageIds: pair, tag: 'holiday 2024' })).toEqual({ removed: 2 })
    expect((await call('review.query', { tags: [{ tag: 'holiday 2024' }] })).ids).toEqual([id['alpha.png']])
    await expect(call('review.addTag', { imageIds: pair, tag: '   ' })).rejects.toMatchObject({ code: 'invalid_input' })
    await expect(call('review.tagsOf', { imageId: 999_999 })).rejects.toMatchObject({ code: 'not_found' })
  })

  it('stores engine concepts, replacing the previous model concepts but not keywords', async () => {
    const repo = new ReviewRepo(services.ctx.db)
    const img = id['a/green.png']!
    repo.setConcepts(img, [
      { word: 'square', prob: 0.7 },
      { word: 'green', prob: 0.2 }
    ])
    await call('review.addTag', { imageIds: [img], tag: 'square' })
    repo.setConcepts(img, [{ word: 'grass', prob: 0.6 }])
    const tags = (await call('review.tagsOf', { imageId: img })).tags.map((t) => `${t.kind}:${t.tag}`)
    expect(tags).toEqual(['keyword:square', 'concept:grass'])
  })
})
