// [Note: unresolvable fleet hosts] A fleet job whose Redis host name does not exist is refused when it is
// queued, with the reason; a Redis that refuses connections (down now, may come back) still gets a job that
// waits for it. No redis-server is needed: nothing listens on 127.0.0.1:1, and `.invalid` never resolves
// (RFC 6761).
import { cpSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobSummary } from '../../src/shared/contract/jobs'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { checkRedisHost } from '../../src/main/fleet/redis-url'
import { createServices, type Services } from '../../src/main/services/services'
import { tempDir } from '../fixtures/images'

const SAMPLES = join(__dirname, '..', '..', 'models', 'shapes-demo', 'samples')

describe('the fleet host check', () => {
  it('refuses a name that does not resolve and lets IP literals and resolvable names through', async () => {
    await expect(checkRedisHost('redis://no-such-host.invalid:6379')).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/"no-such-host\.invalid" does not resolve \(ENOTFOUND\)/) })
    await expect(checkRedisHost('redis://user:secret@no-such-host.invalid')).rejects.toMatchObject({ message: expect.not.stringContaining('secret') })
    await expect(checkRedisHost('redis://127.0.0.1:1')).resolves.toBeUndefined()
    await expect(checkRedisHost('redis://[::1]:1')).resolves.toBeUndefined()
    await expect(checkRedisHost('redis://localhost:1')).resolves.toBeUndefined()
  })
})

describe.skipIf(!existsSync(SAMPLES))('queueing a fleet job', () => {
  let services: Services

  beforeAll(async () => {
    const photos = tempDir('fleetq-photos')
    cpSync(SAMPLES, photos, { recursive: true })
    services = createServices(tempDir('fleetq-data'), 'cli', { engine: new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 }) })
    await services.call('library.addRoot', { path: photos })
    await services.call('library.waitForScans', {})
  }, 60_000)

  afterAll(async () => {
    await services?.close()
  })

  it('fails at queue time for an unresolvable host, creating no job', async () => {
    const before = ((await services.call('jobs.list', {})) as unknown[]).length
    await expect(services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: 'redis://no-such-host.invalid:6379' } })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/does not resolve \(ENOTFOUND\)/) })
    expect((await services.call('jobs.list', {})) as unknown[]).toHaveLength(before)
  })

  it('queues a job for a refused connection, which waits until cancelled', async () => {
    const job = (await services.call('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, fleet: { redis: 'redis://127.0.0.1:1' } })) as JobSummary
    expect(['queued', 'running']).toContain(job.state)
    await new Promise((r) => setTimeout(r, 1500))
    const waiting = (await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }
    expect(['queued', 'running']).toContain(waiting.job.state)
    expect(waiting.job.done).toBe(0)
    await services.call('jobs.cancel', { jobId: job.id })
    await services.call('jobs.waitIdle', {})
    expect(((await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }).job.state).toBe('cancelled')
  }, 30_000)
})
