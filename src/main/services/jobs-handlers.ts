// Main process / serve / CLI (plain Node). Handlers of the jobs domain, over the one JobRunner of this host.
import type { Handlers } from './dispatch'
import type { JobRunner } from '../jobs/runner'

type JobHandlers = Pick<Handlers, `jobs.${string}` & keyof Handlers>

export function createJobHandlers(runner: JobRunner): JobHandlers {
  return {
    'jobs.list': () => runner.repo.list(),
    'jobs.get': ({ jobId }) => ({ job: runner.summary(jobId), failures: runner.repo.failures(jobId) }),
    'jobs.startCaption': (req) => runner.enqueue(req),
    'jobs.pause': ({ jobId }) => runner.pause(jobId),
    'jobs.resume': ({ jobId }) => runner.resume(jobId),
    'jobs.cancel': ({ jobId }) => runner.cancel(jobId),
    'jobs.retryFailed': ({ jobId }) => runner.retryFailed(jobId),
    'jobs.waitIdle': async () => {
      await runner.waitIdle()
      return { ok: true as const }
    }
  }
}
