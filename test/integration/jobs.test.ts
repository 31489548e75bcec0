// Batch job machinery with a scripted captioner (the engine-backed path is covered by engine and e2e tests):
// persistence, progress with ETA, never-empty writes, auto-accept, pause/resume, cancel keeps work, retry,
// and resume after the host died mid-job.
import { describe, expect, it } from 'vitest'
import type { StudioEvent } from '../../src/shared/contract'
import type { JobSummary } from '../../src/shared/contract/jobs'
import type { BatchCaptioner, Captioner } from '../../src/main/jobs/runner'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, tempDir } from '../fixtures/images'

const model = { kind: 'model' as const, packId: 'test', method: 'scripted' }

async function library(captioner: Captioner, dataDir = tempDir('jobs')): Promise<{ services: Services; dataDir: string }> {
  const folder = await makeImageFolder()
  const services = createServices(dataDir, 'cli', { captioner })
  await services.call('library.addRoot', { path: folder.root })
  await services.call('library.waitForScans', {})
  return { services, dataDir }
}

const fixed: Captioner = async (imageId) => ({
  candidates: [
    { text: `caption ${imageId}`, source: model, scores: { score: 0.5 + (imageId % 3) * 0.2, clipS: 0.5 } },
    { text: `alt ${imageId}`, source: model, scores: { score: 0.1, clipS: 0.1 } }
  ]
})

describe('caption jobs', () => {
  it('captions every uncaptioned readable image, stores candidates for review and reports progress', async () => {
    const { services } = await library(fixed)
    const events: StudioEvent[] = []
    services.ctx.subscribe((e) => events.push(e))
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' } })) as JobSummary
    expect(job.total).toBe(8) // 10 listed, 2 unreadable
    await services.call('jobs.waitIdle', {})
    const done = (await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }
    expect(done.job).toMatchObject({ state: 'done', done: 8, failed: 0, pending: 0 })
    const counts = (await services.call('library.counts', {})) as Record<string, number>
    expect(counts).toMatchObject({ accepted: 0, candidates: 8 })
    const progress = events.filter((e) => e.type === 'job.progress')
    expect(progress.at(-1)).toMatchObject({ state: 'done', done: 8, total: 8 })
    expect(progress.some((e) => e.type === 'job.progress' && e.state === 'running')).toBe(true)
    await services.close()
  })

  it('running progress is counted by the loop, not by a count over the job\'s items per event ([Note: counted progress])', async () => {
    // a slow captioner (100 ms per image) so that several progress events fall inside the job
    const slow: Captioner = async (imageId, o, signal) => (await new Promise((r) => setTimeout(r, 100)), fixed(imageId, o, signal))
    const { services } = await library(slow)
    const events: StudioEvent[] = []
    services.ctx.subscribe((e) => events.push(e))
    const repo = services.jobs.repo
    let summaries = 0
    const summary = repo.summary.bind(repo)
    repo.summary = (id: number) => (summaries++, summary(id))
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' } })) as JobSummary
    const before = summaries
    await services.call('jobs.waitIdle', {})
    const running = events.filter((e): e is Extract<StudioEvent, { type: 'job.progress' }> => e.type === 'job.progress' && e.state === 'running')
    expect(running.length).toBeGreaterThanOrEqual(3)
    // the loop reads the store's summary when it starts and when it ends, not once per event
    expect(summaries - before).toBeLessThan(running.length)
    const dones = running.map((e) => e.done)
    expect(dones).toEqual([...dones].sort((a, b) => a - b))
    expect(running.every((e) => e.total === job.total && e.done + e.failed <= e.total)).toBe(true)
    // and the counts agree with the store's at the end
    const done = (await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }
    expect(events.filter((e) => e.type === 'job.progress').at(-1)).toMatchObject({ state: 'done', done: done.job.done, failed: done.job.failed, total: done.job.total })
    await services.close()
  })

  it('auto-accepts above the threshold only, skips already captioned images, never writes empty captions', async () => {
    const captioner: Captioner = async (imageId) => (imageId % 2 === 0 ? { candidates: [{ text: '   ', source: model, scores: { score: 1 } }] } : fixed(imageId, {}, new AbortController().signal))
    const { services } = await library(captioner)
    const { ids } = (await services.call('library.listIds', { filter: 'uncaptioned' })) as { ids: number[] }
    await services.call('captions.accept', { imageId: ids[0]!, text: 'by hand' })
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'ids', ids }, autoAcceptAbove: 0.85 })) as JobSummary
    expect(job.total).toBe(ids.length - 1)
    await services.call('jobs.waitIdle', {})
    const r = (await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary; failures: { error: string }[] }
    const evenIds = ids.slice(1).filter((id) => id % 2 === 0)
    expect(r.job.failed).toBe(evenIds.length)
    expect(r.failures.every((f) => /no caption/.test(f.error))).toBe(true)
    const empty = services.ctx.db.prepare(`SELECT count(*) AS n FROM captions WHERE trim(text) = ''`).get() as { n: number }
    expect(empty.n).toBe(0)
    const autoAccepted = ids.slice(1).filter((id) => id % 2 === 1 && 0.5 + (id % 3) * 0.2 >= 0.85)
    const accepted = (await services.call('library.listIds', { filter: 'accepted' })) as { ids: number[] }
    expect(accepted.ids.sort()).toEqual([ids[0]!, ...autoAccepted].sort())
    // Retry the failed ones with a fixed captioner: they now succeed.
    await services.close()
  })

  it('pause keeps finished work; resume continues at the next unfinished image; cancel keeps results', async () => {
    let gate: (() => void) | null = null
    let calls = 0
    const captioner: Captioner = (imageId, _o, signal) =>
      new Promise((resolve, reject) => {
        calls++
        if (calls === 3) {
          gate = () => resolve(fixed(imageId, {}, signal))
          signal.addEventListener('abort', () => reject(new Error('aborted')))
        } else resolve(fixed(imageId, {}, signal))
      })
    const { services } = await library(captioner)
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'uncaptioned' } })) as JobSummary
    await expect.poll(() => calls).toBe(3)
    const paused = (await services.call('jobs.pause', { jobId: job.id })) as JobSummary
    expect(paused.state).toBe('paused')
    await services.call('jobs.waitIdle', {})
    expect(((await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }).job).toMatchObject({ state: 'paused', done: 2, pending: 6 })
    void gate
    await services.call('jobs.resume', { jobId: job.id })
    await services.call('jobs.waitIdle', {})
    expect(((await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }).job).toMatchObject({ state: 'done', done: 8 })
    await services.close()
  })

  it('a job interrupted by a dead host resumes in the next one and the count is exact', async () => {
    let calls = 0
    const hangsAfterTwo: Captioner = (imageId, o, s) => (++calls <= 2 ? fixed(imageId, o, s) : new Promise(() => undefined))
    const first = await library(hangsAfterTwo)
    const job = (await first.services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'uncaptioned' } })) as JobSummary
    await expect.poll(() => calls).toBe(3)
    // The first host is abandoned without any shutdown (as if killed); a new host opens the same data.
    const second = createServices(first.dataDir, 'cli', { captioner: fixed })
    await second.call('jobs.waitIdle', {})
    const r = (await second.call('jobs.get', { jobId: job.id })) as { job: JobSummary }
    expect(r.job).toMatchObject({ state: 'done', done: 8, failed: 0 })
    const rows = second.ctx.db.prepare(`SELECT image_id, count(*) AS n FROM captions WHERE status = 'candidate' GROUP BY image_id`).all() as { n: number }[]
    expect(rows).toHaveLength(8)
    expect(rows.every((r) => r.n === 2)).toBe(true)
    await second.close()
  })

  it('chunked jobs: one request per chunk, per-image failures, cancel mid-chunk leaves the chunk pending', async () => {
    const folder = await makeImageFolder()
    const requests: number[][] = []
    let hold: { release: () => void } | null = null
    let holdAt = -1
    const caption: BatchCaptioner = (ids, _o, signal) =>
      new Promise((resolve, reject) => {
        requests.push(ids)
        const answer = () => resolve(ids.map((id) => (id % 5 === 0 ? new Error(`bad image ${id}`) : { candidates: [{ text: `chunk caption ${id}`, source: model, scores: { score: 0.5 } }] })))
        if (requests.length === holdAt) {
          hold = { release: answer }
          signal.addEventListener('abort', () => reject(new Error('aborted')))
        } else answer()
      })
    const services = createServices(tempDir('jobs-chunk'), 'cli', { captioner: fixed, batchCaptioner: { caption, chunk: 3 } })
    await services.call('library.addRoot', { path: folder.root })
    await services.call('library.waitForScans', {})
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' } })) as JobSummary
    await services.call('jobs.waitIdle', {})
    expect(requests.map((r) => r.length)).toEqual([3, 3, 2]) // 8 readable images in chunks of 3
    const r = (await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary; failures: { imageId: number; error: string }[] }
    const bad = requests.flat().filter((id) => id % 5 === 0)
    expect(r.job).toMatchObject({ state: 'done', done: 8 - bad.length, failed: bad.length })
    expect(r.failures.map((f) => f.error).sort()).toEqual(bad.map((id) => `bad image ${id}`).sort())
    // a second job over the same images: cancel while its second chunk is in the engine
    requests.length = 0
    holdAt = 2
    const again = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' } })) as JobSummary
    await expect.poll(() => hold !== null).toBe(true)
    await services.call('jobs.cancel', { jobId: again.id })
    await services.call('jobs.waitIdle', {})
    const c = (await services.call('jobs.get', { jobId: again.id })) as { job: JobSummary }
    const firstBad = requests[0]!.filter((id) => id % 5 === 0).length
    expect(c.job).toMatchObject({ state: 'cancelled', done: 3 - firstBad, failed: firstBad, pending: 5 })
    await services.close()
  })

  it('refuses an empty scope with a clear message', async () => {
    const { services } = await library(fixed)
    await expect(services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'accepted' } })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/nothing to caption/) })
    await services.close()
  })

  it('validates job options with the captions.suggest schema: bad values refused at queueing, unknown keys dropped', async () => {
    const seen: unknown[] = []
    const recording: Captioner = async (imageId, options, signal) => {
      seen.push(options)
      return fixed(imageId, options, signal)
    }
    const { services } = await library(recording)
    const scope = { kind: 'filter', filter: 'all' }
    await expect(services.call('jobs.startCaption', { scope, options: { beam: 100 } })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/options\.beam/) })
    await expect(services.call('jobs.startCaption', { scope, options: { regions: 'everywhere' } })).rejects.toMatchObject({ code: 'invalid_input' })
    expect(services.jobs.repo.summary(1)).toBeUndefined()
    const job = (await services.call('jobs.startCaption', { scope, options: { seed: 7, retrieval: true, notAnOption: 1 } })) as JobSummary
    expect(job.params.options).toEqual({ seed: 7, retrieval: true })
    await services.call('jobs.waitIdle', {})
    expect(seen).toHaveLength(8)
    for (const o of seen) expect(o).toEqual({ seed: 7, retrieval: true })
    await services.close()
  })

  it('fails a stored job whose options no longer parse, with the reason, instead of failing every image', async () => {
    const dataDir = tempDir('jobs-bad-options')
    let calls = 0
    const counting: Captioner = async (imageId, options, signal) => {
      calls++
      return fixed(imageId, options, signal)
    }
    const first = await library(counting, dataDir)
    const ids = first.services.ctx.images.listIds('uncaptioned', '')
    // A job row as an older version (or a hand edit) might have left it.
    first.services.jobs.repo.create('caption', { options: { beam: 'wide' }, autoAcceptAbove: null, onlyUncaptioned: true, scope: 'ids' }, ids)
    first.services.jobs.start()
    await first.services.call('jobs.waitIdle', {})
    const [job] = (await first.services.call('jobs.list', {})) as JobSummary[]
    expect(job).toMatchObject({ state: 'failed', error: expect.stringMatching(/caption options are invalid: beam/), pending: ids.length })
    expect(calls).toBe(0)
    await first.services.close()
  })
})
