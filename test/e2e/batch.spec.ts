// E2E (serve mode): batch-caption the demo library with a visible ETA; kill the server mid-job, restart
// it on the same data, and the job finishes with an exact count of accepted captions (none lost, none
// doubled).
import { existsSync } from 'node:fs'
import { apiOf, DEMO_SAMPLES, expect, openStudio, screenshotPath, startDemoServe, startServe, test } from './fixtures'

interface Job { id: number; state: string; done: number; failed: number; total: number }

test('batch job survives a killed server and the accepted count is exact', async ({ page }) => {
  test.skip(!existsSync(DEMO_SAMPLES), 'demo pack samples not present')
  test.setTimeout(240_000)
  let serve = await startDemoServe('batch')
  const dataDir = serve.dataDir
  // Always talks to the current server (it is restarted below).
  const api = <T>(op: string, input: unknown): Promise<T> => apiOf(page.request, serve)<T>(op, input)
  await api('library.waitForScans', {})
  const total = ((await api<{ ids: number[] }>('library.listIds', { filter: 'uncaptioned' })).ids).length
  expect(total).toBeGreaterThanOrEqual(40)

  await openStudio(page, serve)
  await page.getByTestId('open-batch').click()
  await page.getByTestId('batch-auto-accept').check()
  await page.getByRole('spinbutton', { name: 'Auto-accept threshold' }).fill('0')
  await page.getByTestId('batch-start').click()
  await expect(page.getByTestId('job-eta')).toBeVisible()
  await expect(page.getByTestId('job-eta')).not.toHaveText('ETA estimating…', { timeout: 60_000 })
  await page.screenshot({ path: screenshotPath('10-batch-running') })

  const [job] = await api<Job[]>('jobs.list', {})
  await expect.poll(async () => (await api<{ job: Job }>('jobs.get', { jobId: job!.id })).job.done, { timeout: 120_000 }).toBeGreaterThanOrEqual(3)
  await serve.stop('SIGKILL')

  serve = await startServe(dataDir)
  await expect.poll(async () => (await api<{ job: Job }>('jobs.get', { jobId: job!.id })).job.state, { timeout: 200_000 }).toBe('done')
  const final = (await api<{ job: Job }>('jobs.get', { jobId: job!.id })).job
  expect(final.done + final.failed).toBe(total)
  expect(final.failed).toBe(0)
  const counts = await api<{ accepted: number; uncaptioned: number }>('library.counts', {})
  expect(counts.accepted).toBe(total)
  expect(counts.uncaptioned).toBe(0)
  await openStudio(page, serve)
  await page.screenshot({ path: screenshotPath('11-batch-done') })
  await serve.stop()
})
