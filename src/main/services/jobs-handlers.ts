// Main process / serve / CLI (plain Node). Handlers of the jobs domain, over the one JobRunner of this host.
import { checkRedisHost } from '../fleet/redis-url'
import type { Handlers } from './dispatch'
import type { JobRunner } from '../jobs/runner'
import type { PackBuilder } from '../models/pack-builder'

type JobHandlers = Pick<Handlers, `jobs.${string}` & keyof Handlers>

/** Caption jobs run in the JobRunner; pack builds ([Note: staged jobs]) in the PackBuilder. */
export function createJobHandlers(runner: JobRunner, builder: PackBuilder): JobHandlers {
  return {
    'jobs.list': () => runner.repo.list(),
    'jobs.get': ({ jobId }) => ({ job: runner.summary(jobId), failures: runner.repo.failures(jobId) }),
    // [Note: unresolvable fleet hosts] a fleet job whose Redis host does not exist is refused here
    'jobs.startCaption': async (req) => {
      if (req.fleet) await checkRedisHost(req.fleet.redis)
      return runner.enqueue(req)
    },
    'jobs.pause': ({ jobId }) => (builder.owns(jobId) ? builder.pause(jobId) : runner.pause(jobId)),
    'jobs.resume': ({ jobId }) => (builder.owns(jobId) ? builder.resume(jobId) : runner.resume(jobId)),
    'jobs.cancel': ({ jobId }) => (builder.owns(jobId) ? builder.cancel(jobId) : runner.cancel(jobId)),
    'jobs.retryFailed': ({ jobId }) => runner.retryFailed(jobId),
    'jobs.waitIdle': async () => {
      await Promise.all([runner.waitIdle(), builder.waitIdle()])
      return { ok: true as const }
    }
  }
}
