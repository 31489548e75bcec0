// The worker fleet in one process, against a real redis-server: a studio (createServices) sends batch jobs
// to FleetWorkers that run the built engine worker (out/main/engine-worker.js) on the demo pack. Covers
// fleet = local results, a worker with another pack version refusing, roots refusing paths outside them,
// pause / cancel / resume with progress, a result delivered twice stored once, and a closed studio picking
// up answers finished meanwhile. The fault tests with worker processes are in fleet-processes.test.ts.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StudioEvent } from '../../src/shared/contract'
import type { JobSummary } from '../../src/shared/contract/jobs'
import { EngineClient } from '../../src/main/engine/client/engine-client'
import { FleetWorker } from '../../src/main/fleet/worker'
import { BULL_PREFIX, CAPTION_QUEUE } from '../../src/main/fleet/protocol'
import { createServices, type Services } from '../../src/main/services/services'
import { DEMO_PACK, demoCopies, hasRedis, RedisServer, waitJob } from '../fixtures/fleet'
import { tempDir } from '../fixtures/images'
import { freePort } from '../../src/main/eval/bench/fleet'

const OUT = resolve(__dirname, '../../out/main')
const WORKER_JS = join(OUT, 'engine-worker.js')
const built = existsSync(WORKER_JS)
if (!built) console.warn('fleet.test.ts: out/main is missing — run `npx electron-vite build` first; skipping')
if (!hasRedis) console.warn('fleet.test.ts: /usr/bin/redis-server is missing (apt-get install redis-server); skipping')

const MODELS = resolve(__dirname, '../../models')
let redis: RedisServer
let images: string
const workers: FleetWorker[] = []
const logs: string[] = []

const engine = (threads: number) => new EngineClient({ workerPath: WORKER_JS, intraOpThreads: threads })

async function startWorker(packDir = DEMO_PACK, roots = [{ from: images, to: images }]): Promise<FleetWorker> {
  const w = await FleetWorker.start({ redis: redis.url, packDir, roots, engine, lockMs: 5000, stalledMs: 2000, log: (l) => logs.push(l) })
  workers.push(w)
  return w
}

async function stopWorkers(): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.close()))
}

async function studio(dataDir = tempDir('fleet-studio')): Promise<{ services: Services; dataDir: string }> {
  const services = createServices(dataDir, 'cli', { bundledPacksDir: MODELS, engine: engine(1), fleet: { reconcileMs: 300 } })
  return { services, dataDir }
}

async function withLibrary(root = images): Promise<{ services: Services; dataDir: string }> {
  const s = await studio()
  await s.services.call('library.addRoot', { path: root })
  await s.services.call('library.waitForScans', {})
  return s
}

/** Every stored candidate by image path: text and scores in rank order. */
function candidatesByPath(services: Services): Map<string, { text: string; scores: Record<string, number> }[]> {
  const rows = services.ctx.db
    .prepare(`SELECT i.rel_path AS rel, c.text, c.scores FROM captions c JOIN images i ON i.id = c.image_id WHERE c.status = 'candidate' ORDER BY i.rel_path, c.id`)
    .all() as { rel: string; text: string; scores: string }[]
  const out = new Map<string, { text: string; scores: Record<string, number> }[]>()
  for (const r of rows) {
    const list = out.get(r.rel) ?? []
    list.push({ text: r.text, scores: JSON.parse(r.scores) as Record<string, number> })
    out.set(r.rel, list)
  }
  return out
}

/** Each of the job's items was stored exactly once (a second store would count a second attempt), and no
 *  image has a candidate text twice. */
function expectStoredOnce(services: Services, jobId: number, n: number): void {
  const items = services.ctx.db.prepare(`SELECT state, attempts FROM job_items WHERE job_id = ?`).all(jobId) as { state: string; attempts: number }[]
  expect(items).toHaveLength(n)
  expect(items.filter((i) => i.state !== 'done' || i.attempts !== 1)).toEqual([])
  const dup = services.ctx.db.prepare(`SELECT image_id FROM captions GROUP BY image_id, text HAVING count(*) > 1`).all()
  expect(dup).toEqual([])
}

describe.skipIf(!built || !hasRedis)('worker fleet (in-process workers, real Redis)', () => {
  beforeAll(async () => {
    redis = await RedisServer.start()
    images = realpathSync(tempDir('fleet-images'))
    await demoCopies(images, 24)
  })

  afterAll(async () => {
    await stopWorkers()
    await redis?.kill()
  })

  it('a fleet job stores the same candidates and scores as the local engine, with the worker recorded', async () => {
    const local = await withLibrary()
    const lj = (await local.services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' } })) as JobSummary
    await local.services.call('jobs.waitIdle', {})
    expect((await waitJob(local.services, lj.id, (j) => j.state === 'done')).done).toBe(24)

    const w = await startWorker()
    const fleet = await withLibrary()
    const events: StudioEvent[] = []
    fleet.services.ctx.subscribe((e) => events.push(e))
    const fj = (await fleet.services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url } })) as JobSummary
    expect(fj.params.fleet).toEqual({ redis: redis.url })
    await fleet.services.call('jobs.waitIdle', {})
    const end = await waitJob(fleet.services, fj.id, (j) => j.state !== 'running' && j.state !== 'queued')
    expect(end).toMatchObject({ state: 'done', done: 24, failed: 0 })
    const a = candidatesByPath(local.services)
    const b = candidatesByPath(fleet.services)
    expect(b.size).toBe(24)
    expect([...b.keys()]).toEqual([...a.keys()])
    for (const [rel, cands] of a) expect(b.get(rel)).toEqual(cands)
    const item = fleet.services.ctx.db.prepare(`SELECT result FROM job_items WHERE job_id = ? LIMIT 1`).get(fj.id) as { result: string }
    expect(JSON.parse(item.result)).toMatchObject({ worker: w.name, fleetKey: expect.stringMatching(/^[0-9a-f]{64}$/) })
    const progress = events.filter((e) => e.type === 'job.progress')
    expect(progress.at(-1)).toMatchObject({ state: 'done', done: 24, total: 24 })
    await Promise.all([local.services.close(), fleet.services.close()])
    await stopWorkers()
  })

  it('a worker with another pack version refuses the chunk once (not retried); the right worker then captions it', async () => {
    const other = join(tempDir('fleet-pack'), 'shapes-demo')
    cpSync(DEMO_PACK, other, { recursive: true })
    const json = JSON.parse(readFileSync(join(other, 'pack.json'), 'utf8')) as { version: string }
    json.version = '1.0.1-other'
    writeFileSync(join(other, 'pack.json'), JSON.stringify(json))
    const stale = await startWorker(other)
    const { services } = await withLibrary()
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url, chunk: 6 } })) as JobSummary
    const end = await waitJob(services, job.id, (j) => j.pending === 0)
    expect(end).toMatchObject({ done: 0, failed: 24 })
    const { failures } = (await services.call('jobs.get', { jobId: job.id })) as { failures: { error: string; attempts: number }[] }
    expect(failures).toHaveLength(24)
    for (const f of failures) expect(f.error).toMatch(/pack mismatch: the job needs shapes-demo 1\.0\.0 .* has shapes-demo 1\.0\.1-other/)
    // refused, not retried: each of the 4 chunks reached the stale worker exactly once
    const refusals = logs.filter((l) => /^job .* failed: pack mismatch/.test(l))
    expect(new Set(refusals).size).toBe(4)
    expect(refusals).toHaveLength(4)
    expect(candidatesByPath(services).size).toBe(0)
    await stale.close()
    workers.splice(workers.indexOf(stale), 1)
    await startWorker()
    await services.call('jobs.retryFailed', { jobId: job.id })
    expect(await waitJob(services, job.id, (j) => j.state === 'done')).toMatchObject({ done: 24, failed: 0 })
    await services.close()
    await stopWorkers()
  })

  it('a worker refuses images outside its roots, also through a symlink, and captions those inside', async () => {
    const lib = realpathSync(tempDir('fleet-roots'))
    mkdirSync(join(lib, 'shared'))
    mkdirSync(join(lib, 'private'))
    await demoCopies(join(lib, 'shared'), 3)
    await demoCopies(join(lib, 'private'), 2)
    // a folder mapped for the worker that links to the private one: the real path is outside the roots
    const view = realpathSync(tempDir('fleet-view'))
    symlinkSync(join(lib, 'private'), join(view, 'private'))
    await startWorker(DEMO_PACK, [{ from: join(lib, 'shared'), to: join(lib, 'shared') }])
    const { services } = await withLibrary(lib)
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url } })) as JobSummary
    const end = await waitJob(services, job.id, (j) => j.pending === 0)
    expect(end).toMatchObject({ done: 3, failed: 2 })
    const { failures } = (await services.call('jobs.get', { jobId: job.id })) as { failures: { relPath: string; error: string }[] }
    expect(failures.map((f) => f.relPath).sort()).toEqual(['private/img_0000.png', 'private/img_0001.png'])
    for (const f of failures) expect(f.error).toMatch(/outside this worker's roots/)
    expect([...candidatesByPath(services).keys()].sort()).toEqual(['shared/img_0000.png', 'shared/img_0001.png', 'shared/img_0002.png'])
    await services.close()
    await stopWorkers()
    // the same job through the symlinked view: mapped by prefix, refused by the real-path check
    const { mapPath } = await import('../../src/main/fleet/roots')
    await expect(mapPath([{ from: '/studio', to: view }], '/studio/private/img_0000.png')).rejects.toThrow(/resolves outside this worker's root/)
  })

  it('pause and cancel withdraw the queued chunks, resume queues them again; progress has rate and ETA', async () => {
    const { services } = await withLibrary()
    const events: StudioEvent[] = []
    services.ctx.subscribe((e) => events.push(e))
    const queue = new Queue(CAPTION_QUEUE, { connection: { host: '127.0.0.1', port: redis.port } })
    const done = async () => ((await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }).job
    // no worker yet: the window's chunks wait in the queue
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url, chunk: 4, window: 2 } })) as JobSummary
    await expect.poll(() => queue.getWaitingCount(), { timeout: 10_000 }).toBe(2)
    // the Redis list KEDA's scaler watches (deploy/k8s/keda.yaml) is where the waiting chunks are
    const raw = new Redis(redis.port, '127.0.0.1')
    expect(await raw.llen(`${BULL_PREFIX}:${CAPTION_QUEUE}:wait`)).toBe(2)
    raw.disconnect()
    expect(((await services.call('jobs.pause', { jobId: job.id })) as JobSummary).state).toBe('paused')
    await expect.poll(() => queue.getWaitingCount(), { timeout: 10_000 }).toBe(0)
    await startWorker()
    await new Promise((r) => setTimeout(r, 1000))
    expect(await done()).toMatchObject({ state: 'paused', done: 0 })

    await services.call('jobs.resume', { jobId: job.id })
    await waitJob(services, job.id, (j) => j.done >= 8)
    await stopWorkers()
    const before = (await done()).done
    await expect.poll(() => queue.getWaitingCount(), { timeout: 10_000 }).toBe(2)
    expect(((await services.call('jobs.cancel', { jobId: job.id })) as JobSummary).state).toBe('cancelled')
    await expect.poll(() => queue.getWaitingCount(), { timeout: 10_000 }).toBe(0)
    await startWorker()
    await new Promise((r) => setTimeout(r, 1000))
    expect(await done()).toMatchObject({ state: 'cancelled', done: before })

    await services.call('jobs.resume', { jobId: job.id })
    expect(await waitJob(services, job.id, (j) => j.state === 'done')).toMatchObject({ done: 24, failed: 0 })
    const running = events.filter((e) => e.type === 'job.progress' && e.state === 'running' && e.done > 0)
    expect(running.some((e) => e.type === 'job.progress' && e.ratePerSec > 0 && typeof e.etaSec === 'number')).toBe(true)
    // every image has one set of candidates: nothing was stored twice across pause, cancel and resume
    expectStoredOnce(services, job.id, 24)
    await queue.close()
    await services.close()
    await stopWorkers()
  })

  it('a closed studio picks up the answers finished meanwhile when it reopens, and stores a duplicate answer once', async () => {
    const first = await withLibrary()
    const job = (await first.services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url } })) as JobSummary
    const queue = new Queue(CAPTION_QUEUE, { connection: { host: '127.0.0.1', port: redis.port } })
    await expect.poll(() => queue.getWaitingCount(), { timeout: 10_000 }).toBe(3)
    const { value: studioId } = first.services.ctx.db.prepare(`SELECT value FROM settings WHERE key = 'fleet.studioId'`).get() as { value: string }
    await first.services.close()
    // no studio now: the fleet works, the answers wait in the library's results queue
    await startWorker()
    const answers = new Queue(`caption-studio-results-${JSON.parse(studioId) as string}`, { connection: { host: '127.0.0.1', port: redis.port } })
    await expect.poll(() => answers.getWaitingCount(), { timeout: 30_000 }).toBe(3)
    await stopWorkers()
    // a second worker's answer to the same chunk (as after a stall) arrives too
    const [one] = await answers.getJobs(['wait'])
    await answers.add('result', one!.data, { jobId: `${one!.id}-again`, removeOnComplete: true })
    const reopened = createServices(first.dataDir, 'cli', { bundledPacksDir: MODELS, engine: engine(1), fleet: { reconcileMs: 300 }, resumeJobs: false })
    const changed = new Map<number, number>()
    reopened.ctx.subscribe((e) => e.type === 'captions.changed' && changed.set(e.imageId, (changed.get(e.imageId) ?? 0) + 1))
    reopened.jobs.start()
    const end = await waitJob(reopened, job.id, (j) => j.state === 'done')
    expect(end).toMatchObject({ done: 24, failed: 0 })
    await expect.poll(() => answers.getWaitingCount(), { timeout: 10_000 }).toBe(0)
    expectStoredOnce(reopened, job.id, 24)
    expect(changed.size).toBe(24)
    expect([...changed.values()].every((n) => n === 1)).toBe(true)
    // nothing was queued again for work the fleet had already done
    expect(await queue.getWaitingCount()).toBe(0)
    await Promise.all([queue.close(), answers.close()])
    await reopened.close()
  })

  it('with Redis unreachable a fleet job waits (running, nothing failed) and the studio still closes promptly', async () => {
    const { services } = await withLibrary()
    const nowhere = `redis://127.0.0.1:${await freePort()}`
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: nowhere } })) as JobSummary
    await new Promise((r) => setTimeout(r, 2000))
    expect(((await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }).job).toMatchObject({ state: 'running', done: 0, failed: 0 })
    const t0 = Date.now()
    await services.close()
    expect(Date.now() - t0).toBeLessThan(8000)
    await expect(services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: 'redis://h/99' } })).rejects.toThrow()
  })
})
