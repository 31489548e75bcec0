// E2E (serve mode + a real redis-server + one `caption-studio worker` process): the batch dialog's "Run on:
// the worker fleet at …" sends the demo library to the fleet; the jobs panel marks the job, and every image
// gets its candidates from the worker (recorded in the job items), none twice.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { apiOf, DEMO_SAMPLES, expect, openStudio, screenshotPath, startDemoServe, test } from './fixtures'
import { DEMO_PACK, hasRedis, RedisServer } from '../fixtures/fleet'

interface Job { id: number; state: string; done: number; failed: number; total: number; params: Record<string, unknown> }

test('the batch dialog runs a job on the worker fleet', async ({ page }) => {
  test.skip(!existsSync(DEMO_SAMPLES) || !hasRedis, 'demo samples or redis-server not present')
  test.setTimeout(180_000)
  const redis = await RedisServer.start()
  const serve = await startDemoServe('fleet')
  const api = apiOf(page.request, serve)
  await api('library.waitForScans', {})
  // the worker sees the studio's photo folder at the same path (one machine): the identity map
  const [root] = await api<{ path: string }[]>('library.listRoots', {})
  const worker = spawn(process.execPath, [join(__dirname, '../../out/main/cli.js'), 'worker', '--redis', redis.url, '--roots', `${root!.path}=${root!.path}`, '--pack', DEMO_PACK, '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    await new Promise<void>((done) => createInterface({ input: worker.stderr! }).on('line', (l) => l === 'ready' && done()))
    const total = (await api<{ ids: number[] }>('library.listIds', { filter: 'uncaptioned' })).ids.length
    expect(total).toBeGreaterThanOrEqual(40)

    await openStudio(page, serve)
    await page.getByTestId('open-batch').click()
    await page.getByTestId('batch-run-fleet').check()
    await page.getByTestId('batch-fleet-url').fill('http://not-redis')
    await expect(page.getByTestId('batch-start')).toBeDisabled()
    await page.getByTestId('batch-fleet-url').fill(redis.url)
    await page.screenshot({ path: screenshotPath('12-batch-fleet-dialog') })
    await page.getByTestId('batch-start').click()
    await expect(page.getByTestId('job-fleet')).toBeVisible()

    const [job] = await api<Job[]>('jobs.list', {})
    expect(job!.params.fleet).toEqual({ redis: redis.url })
    await expect.poll(async () => (await api<{ job: Job }>('jobs.get', { jobId: job!.id })).job.state, { timeout: 150_000 }).toBe('done')
    const final = (await api<{ job: Job }>('jobs.get', { jobId: job!.id })).job
    expect(final).toMatchObject({ done: total, failed: 0 })
    const counts = await api<{ candidates: number; uncaptioned: number }>('library.counts', {})
    expect(counts.candidates).toBe(total)
    await page.screenshot({ path: screenshotPath('13-batch-fleet-done') })
  } finally {
    worker.kill('SIGTERM')
    await serve.stop()
    await redis.kill()
  }
})
