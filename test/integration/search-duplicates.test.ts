// Semantic search, "more like this", the index job and near-duplicates on a generated library with known
// copies (resized, re-encoded JPEG, cropped 8%, recoloured; src/main/eval/bench/duplicate-set.ts), with the
// demo pack in-process. Checks that embeddings are kept per pack space, that the index job embeds what is
// missing and can be paused and resumed, that ranking is by similarity within the grid's filters, that the
// found groups match the known ones, and that every export format leaves out the excluded copies.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OpOutput } from '../../src/shared/contract'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { createServices, type Services } from '../../src/main/services/services'
import { makeDuplicateSet, type DuplicateSet } from '../../src/main/eval/bench/duplicate-set'
import { pairScores } from '../../src/main/search/grouping'
import { tempDir } from '../fixtures/images'

const PACK = join(__dirname, '..', '..', 'models', 'shapes-demo', 'pack.json')

describe.skipIf(!existsSync(PACK))('search and near-duplicates on a generated library', () => {
  let services: Services
  let set: DuplicateSet
  const idOf = new Map<string, number>()
  const call = <T = unknown>(op: string, input: unknown) => services.call(op, input) as Promise<T>

  beforeAll(async () => {
    set = await makeDuplicateSet(tempDir('dups-lib'), 24, 8)
    services = createServices(tempDir('dups-data'), 'cli', { engine: new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 }) })
    await call('library.addRoot', { path: set.root })
    await call('library.waitForScans', {})
    const { ids } = await call<{ ids: number[] }>('library.listIds', {})
    for (const img of await call<{ id: number; relPath: string }[]>('library.getImages', { ids })) idOf.set(img.relPath, img.id)
  }, 120_000)

  afterAll(async () => {
    await services?.close()
  })

  it('a suggestion keeps its image embedding in the pack space', async () => {
    const before = await call<OpOutput<'search.status'>>('search.status', {})
    expect(before.active).toMatchObject({ packId: 'shapes-demo', count: 0 })
    expect(before.missing).toBe(set.files.length)
    await call('captions.suggest', { imageId: idOf.get('orig/0010.png') })
    const after = await call<OpOutput<'search.status'>>('search.status', {})
    expect(after.active?.count).toBe(1)
    expect(after.missing).toBe(set.files.length - 1)
    expect(after.spaces).toEqual([{ packId: 'shapes-demo', version: after.active!.version, count: 1 }])
  }, 60_000)

  it('the index job embeds every missing image; pause keeps the work, resume finishes it', async () => {
    const { job, missing } = await call<OpOutput<'search.startIndex'>>('search.startIndex', {})
    expect(missing).toBe(set.files.length - 1)
    expect(job?.kind).toBe('index')
    await call('jobs.pause', { jobId: job!.id })
    await call('jobs.waitIdle', {})
    const paused = await call<OpOutput<'jobs.get'>>('jobs.get', { jobId: job!.id })
    expect(paused.job.state).toBe('paused')
    const kept = (await call<OpOutput<'search.status'>>('search.status', {})).active!.count
    expect(kept).toBe(1 + paused.job.done)
    await call('jobs.resume', { jobId: job!.id })
    await call('jobs.waitIdle', {})
    const done = await call<OpOutput<'jobs.get'>>('jobs.get', { jobId: job!.id })
    expect(done.job).toMatchObject({ state: 'done', done: set.files.length - 1, failed: 0 })
    const st = await call<OpOutput<'search.status'>>('search.status', {})
    expect(st).toMatchObject({ missing: 0, active: { count: set.files.length } })
    expect((await call<OpOutput<'search.startIndex'>>('search.startIndex', {})).job).toBeNull()
  }, 120_000)

  it('more like this ranks an original’s copies first, best first, without the image itself', async () => {
    for (const group of set.groups.slice(0, 4)) {
      const [orig, ...copies] = group.map((r) => idOf.get(r)!)
      const r = await call<OpOutput<'search.query'>>('search.query', { likeImageId: orig, limit: 10 })
      expect(r.ids).not.toContain(orig)
      expect(r.exact).toBe(true)
      expect(r.similarities).toEqual([...r.similarities].sort((a, b) => b - a))
      // at least three of the four copies among the first four results
      expect(r.ids.slice(0, 4).filter((id) => copies.includes(id)).length).toBeGreaterThanOrEqual(3)
    }
  })

  it('a text query is ranked by similarity and narrowed by the status and keyword filters', async () => {
    const all = await call<OpOutput<'search.query'>>('search.query', { text: 'a red circle', limit: 1000 })
    expect(all.ids.length).toBe(set.files.length)
    expect(new Set(all.ids).size).toBe(all.ids.length)
    expect(all.similarities).toEqual([...all.similarities].sort((a, b) => b - a))
    const other = await call<OpOutput<'search.query'>>('search.query', { text: 'a blue square', limit: 1000 })
    expect(other.ids).not.toEqual(all.ids)
    const keyword = await call<OpOutput<'search.query'>>('search.query', { text: 'a red circle', search: 'copies/', limit: 1000 })
    expect(keyword.ids.length).toBe(set.files.length - 24)
    expect(keyword.ids).toEqual(all.ids.filter((id) => keyword.ids.includes(id)))
    const accepted = await call<OpOutput<'search.query'>>('search.query', { text: 'a red circle', status: 'accepted' })
    expect(accepted.ids).toEqual([])
    await expect(call('search.query', { text: 'x', likeImageId: 1 })).rejects.toThrow(/either a text query or likeImageId/)
  })

  it('near-duplicate groups match the generated copies (pHash-confirmed); the threshold changes the count', async () => {
    const r = await call<OpOutput<'duplicates.groups'>>('duplicates.groups', {})
    const found = r.groups.map((g) => g.ids)
    const truth = set.groups.map((g) => g.map((p) => idOf.get(p)!))
    const s = pairScores(found, truth)
    process.stdout.write(`[duplicates] threshold ${r.threshold}: ${r.groupCount} groups (${r.candidateGroups} before pHash), pair precision ${s.precision.toFixed(3)}, recall ${s.recall.toFixed(3)}\n`)
    expect(s.precision).toBeGreaterThanOrEqual(0.9)
    expect(s.recall).toBeGreaterThanOrEqual(0.9)
    for (const g of r.groups) expect(g.maxHashBits).toBeLessThanOrEqual(10)
    const strict = await call<OpOutput<'duplicates.groups'>>('duplicates.groups', { threshold: 0.999, limit: 0 })
    expect(strict.groups).toEqual([])
    expect(strict.imagesInGroups).toBeLessThan(r.imagesInGroups)
  }, 120_000)

  it('keep one, exclude the others: every export format leaves them out, files stay', async () => {
    const group = set.groups[0]!.map((p) => idOf.get(p)!)
    const [keep, ...drop] = group
    for (const rel of set.files) await call('captions.accept', { imageId: idOf.get(rel), text: `shapes ${rel}` })
    expect(await call('duplicates.resolve', { keepId: keep, excludeIds: drop })).toEqual({ excluded: drop.length })
    const groups = await call<OpOutput<'duplicates.groups'>>('duplicates.groups', {})
    expect(groups.groups.find((g) => g.ids.includes(keep!))?.excluded.sort()).toEqual([...drop].sort())
    const dropped = set.groups[0]!.slice(1)
    for (const format of ['txt', 'jsonl', 'coco', 'csv', 'xmp'] as const) {
      const out = await call<OpOutput<'exports.run'>>('exports.run', { format, outDir: tempDir(`dups-${format}`), dryRun: format === 'txt' || format === 'xmp' })
      expect(out.captions, format).toBe(set.files.length - drop.length)
      const text = format === 'txt' || format === 'xmp' ? JSON.stringify(out.planned) : out.files.map((f) => readFileSync(f, 'utf8')).join('\n')
      for (const rel of dropped) expect(text, `${format} ${rel}`).not.toContain(rel.replace(/\.(png|jpg)$/, ''))
      expect(text).toContain(set.groups[0]![0]!.replace(/\.png$/, ''))
    }
    for (const rel of dropped) expect(existsSync(join(set.root, rel))).toBe(true)
    expect(await call('duplicates.include', { imageIds: drop })).toEqual({ included: drop.length })
    const back = await call<OpOutput<'exports.run'>>('exports.run', { format: 'jsonl', outDir: tempDir('dups-back') })
    expect(back.captions).toBe(set.files.length)
  }, 120_000)
})
