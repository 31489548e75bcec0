// The worker fleet as deployed: a real redis-server, three `node out/main/cli.js worker` processes on the
// demo pack, and a studio (createServices, the single writer) in this process; 300 demo images with
// distinct bytes. Faults: SIGKILL of a worker in the middle of a chunk (BullMQ's stalled-job check gives it
// to another worker), Redis killed and restarted empty mid-batch (workers and studio reconnect, the studio
// queues the lost chunks again). Plus the CLI's --queue (same lines as a local run) and a worker process
// with another pack version refusing. Build first (`npx electron-vite build`); skipped without out/ or Redis.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobSummary } from '../../src/shared/contract/jobs'
import { createServices, type Services } from '../../src/main/services/services'
import { DEMO_PACK, demoCopies, hasRedis, RedisServer, waitJob } from '../fixtures/fleet'
import { tempDir } from '../fixtures/images'
import { freePort } from '../../src/main/eval/bench/fleet'

const run = promisify(execFile)
const ROOT = resolve(__dirname, '../..')
const CLI = join(ROOT, 'out/main/cli.js')
const built = existsSync(CLI) && existsSync(join(ROOT, 'out/main/engine-worker.js'))
if (!built) console.warn('fleet-processes.test.ts: out/main is missing — run `npx electron-vite build` first; skipping')
if (!hasRedis) console.warn('fleet-processes.test.ts: /usr/bin/redis-server is missing (apt-get install redis-server); skipping')

const N = 300
let redis: RedisServer
let images: string

interface WorkerProc {
  proc: ChildProcess
  name: string
  lines: string[]
  /** Resolves with the first stderr line matching `re` (also one already seen). */
  line(re: RegExp, ms?: number, from?: number): Promise<string>
}

const procs: WorkerProc[] = []
const allLines: string[] = []

async function spawnWorker(pack = DEMO_PACK, root = images): Promise<WorkerProc> {
  const proc = spawn('node', [CLI, 'worker', '--redis', redis.url, '--roots', `${root}=${root}`, '--pack', pack, '--threads', '1', '--lock-ms', '4000', '--stalled-ms', '1500'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  const lines: string[] = []
  let waiters: { re: RegExp; done: (l: string) => void }[] = []
  createInterface({ input: proc.stderr! }).on('line', (l) => {
    lines.push(l)
    allLines.push(`${proc.pid}: ${l}`)
    const hit = waiters.filter((w) => w.re.test(l))
    waiters = waiters.filter((w) => !hit.includes(w))
    for (const w of hit) w.done(l)
  })
  const line = (re: RegExp, ms = 60_000, from = 0) =>
    new Promise<string>((done, fail) => {
      const seen = lines.slice(from).find((l) => re.test(l))
      if (seen) return done(seen)
      const t = setTimeout(() => fail(new Error(`no line ${re} from the worker within ${ms} ms:\n${lines.join('\n')}`)), ms)
      waiters.push({ re, done: (l) => (clearTimeout(t), done(l)) })
    })
  const w: WorkerProc = { proc, name: '', lines, line }
  procs.push(w)
  w.name = /^worker (\S+):/.exec(await line(/^worker \S+: pack/))![1]!
  await line(/^ready$/)
  return w
}

async function stopAll(): Promise<void> {
  await Promise.all(
    procs.splice(0).map((w) =>
      w.proc.exitCode !== null || w.proc.signalCode !== null
        ? undefined
        : new Promise<void>((done) => {
            w.proc.once('exit', () => done())
            w.proc.kill('SIGTERM')
          })
    )
  )
}

async function library(): Promise<Services> {
  const services = createServices(tempDir('fleet-proc-studio'), 'cli', { bundledPacksDir: join(ROOT, 'models'), fleet: { reconcileMs: 300 } })
  await services.call('library.addRoot', { path: images })
  await services.call('library.waitForScans', {})
  return services
}

/** Every item done and stored exactly once (a second store counts a second attempt); the workers that answered. */
function storedOnce(services: Services, jobId: number): { workers: Map<string, number>; byImage: Map<number, string> } {
  const items = services.ctx.db.prepare(`SELECT image_id AS imageId, state, attempts, result FROM job_items WHERE job_id = ?`).all(jobId) as { imageId: number; state: string; attempts: number; result: string | null }[]
  expect(items).toHaveLength(N)
  expect(items.filter((i) => i.state !== 'done' || i.attempts !== 1)).toEqual([])
  expect(services.ctx.db.prepare(`SELECT image_id FROM captions GROUP BY image_id, text HAVING count(*) > 1`).all()).toEqual([])
  const withCandidates = services.ctx.db.prepare(`SELECT count(DISTINCT image_id) AS n FROM captions WHERE status = 'candidate'`).get() as { n: number }
  expect(withCandidates.n).toBe(N)
  const workers = new Map<string, number>()
  const byImage = new Map<number, string>()
  for (const i of items) {
    const w = (JSON.parse(i.result!) as { worker: string }).worker
    workers.set(w, (workers.get(w) ?? 0) + 1)
    byImage.set(i.imageId, w)
  }
  return { workers, byImage }
}

// [Note: slow machine] generous per-test limits: the 2 cores are shared, and a loaded machine is 5× slower
describe.skipIf(!built || !hasRedis)('worker fleet processes (3 workers, real Redis, faults)', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    redis = await RedisServer.start()
    images = realpathSync(tempDir('fleet-proc-images'))
    await demoCopies(images, N)
    await Promise.all([spawnWorker(), spawnWorker(), spawnWorker()])
  })

  afterAll(async () => {
    if (process.env.FLEET_LOG) writeFileSync(process.env.FLEET_LOG, allLines.join('\n'))
    await stopAll()
    await redis?.kill()
  })

  it(`a ${N}-image batch on 3 workers: every image captioned and stored exactly once`, async () => {
    const services = await library()
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url } })) as JobSummary
    expect(job.total).toBe(N)
    expect(await waitJob(services, job.id, (j) => j.state === 'done')).toMatchObject({ done: N, failed: 0 })
    const { workers } = storedOnce(services, job.id)
    expect([...workers.keys()].sort()).toEqual(procs.map((p) => p.name).sort())
    await services.close()
  })

  it('SIGKILL of a worker in the middle of a chunk: another worker captions that chunk, nothing lost or doubled', async () => {
    const services = await library()
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url } })) as JobSummary
    await waitJob(services, job.id, (j) => j.done >= 40)
    // kill the first worker the moment it reports starting its next chunk
    const victim = procs[0]!
    const from = victim.lines.length
    const started = await victim.line(/ started: /, 60_000, from)
    const chunk = /^job (\S+) started/.exec(started)![1]!
    victim.proc.kill('SIGKILL')
    await new Promise((r) => victim.proc.once('exit', r))
    // it really died mid-chunk: it never finished the chunk it had started
    expect(victim.lines.some((l) => l.startsWith(`job ${chunk} done`))).toBe(false)
    expect(await waitJob(services, job.id, (j) => j.state === 'done')).toMatchObject({ done: N, failed: 0 })
    const { byImage } = storedOnce(services, job.id)
    // the chunk was started again by another worker (its second start) and answered by it
    const rescuer = procs.slice(1).find((p) => p.lines.some((l) => l.startsWith(`job ${chunk} started`)))
    expect(rescuer, `no other worker started ${chunk}`).toBeDefined()
    expect(rescuer!.lines.find((l) => l.startsWith(`job ${chunk} started`))).toMatch(/\(start [2-9]\)/)
    const k = Number(chunk.split('-').at(-2))
    const seqs = services.ctx.db.prepare(`SELECT image_id AS imageId FROM job_items WHERE job_id = ? AND seq >= ? AND seq < ?`).all(job.id, k * 8, k * 8 + 8) as { imageId: number }[]
    expect(seqs.length).toBeGreaterThan(0)
    for (const s of seqs) expect(byImage.get(s.imageId)).toBe(rescuer!.name)
    await services.close()
    procs.splice(0, 1)
    await spawnWorker()
  })

  it('Redis killed and restarted empty mid-batch: workers and studio reconnect and the batch completes once', async () => {
    const services = await library()
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: redis.url } })) as JobSummary
    const before = await waitJob(services, job.id, (j) => j.done >= 60)
    await redis.kill()
    await new Promise((r) => setTimeout(r, 1500))
    const during = ((await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }).job
    expect(during.state).toBe('running')
    await redis.up()
    expect(await waitJob(services, job.id, (j) => j.state === 'done')).toMatchObject({ done: N, failed: 0 })
    expect(before.done).toBeLessThan(N)
    storedOnce(services, job.id)
    // the same worker processes did the rest: none of them exited
    for (const p of procs) expect(p.proc.exitCode).toBeNull()
    const after = procs.map((p) => p.lines.filter((l) => / done: /.test(l)).length)
    expect(after.every((n) => n > 0)).toBe(true)
    await services.close()
  })

  it('the CLI with --queue prints the same JSON lines as a local run; no Redis, roots and another pack version refuse', async () => {
    const folder = realpathSync(tempDir('fleet-cli'))
    const count = (await demoCopies(folder, 24)).length
    const caption = (...extra: string[]) => run('node', [CLI, 'caption', folder, '--pack', DEMO_PACK, '--json', '--seed', '7', ...extra], { cwd: ROOT, maxBuffer: 1 << 26 }).catch((e: { stdout: string; stderr: string; code: number }) => e)
    const lines = (out: { stdout: string }): Record<string, unknown>[] => out.stdout.trim().split('\n').map((l) => ({ ...(JSON.parse(l) as Record<string, unknown>), timings: null }))
    // no Redis at that address: a one-off run fails at once with the reason (exit 1), it does not wait
    const nowhere = await caption('--queue', `redis://127.0.0.1:${await freePort()}`)
    expect('code' in nowhere && nowhere.code).toBe(1)
    expect((nowhere as { stderr: string }).stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/)
    // the running workers map only the other folder: every file here is outside their roots
    const outside = await caption('--queue', redis.url)
    expect('code' in outside && outside.code).toBe(3)
    expect(lines(outside)).toHaveLength(count)
    for (const l of lines(outside)) expect(l.error).toMatch(/outside this worker's roots/)
    await stopAll()
    await Promise.all([spawnWorker(DEMO_PACK, folder), spawnWorker(DEMO_PACK, folder)])
    const [fleet, local] = [await caption('--queue', redis.url), await caption()]
    expect(lines(fleet)).toHaveLength(count)
    expect(lines(fleet)).toEqual(lines(local))
    expect(lines(fleet).every((l) => typeof l.caption === 'string')).toBe(true)
    await stopAll()
    const other = join(tempDir('fleet-proc-pack'), 'shapes-demo')
    cpSync(DEMO_PACK, other, { recursive: true })
    const json = JSON.parse(readFileSync(join(other, 'pack.json'), 'utf8')) as { version: string }
    json.version = '2.0.0'
    writeFileSync(join(other, 'pack.json'), JSON.stringify(json))
    await spawnWorker(other, folder)
    const refused = await caption('--queue', redis.url)
    expect('code' in refused && refused.code).toBe(3)
    expect(lines(refused)).toHaveLength(count)
    for (const l of lines(refused)) expect(l.error).toMatch(/pack mismatch: the job needs shapes-demo 1\.0\.0 .* has shapes-demo 2\.0\.0/)
  })
})
