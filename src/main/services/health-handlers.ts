// Main process / serve / CLI (plain Node). Handlers of the dataset health domain (contract/health.ts).
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'
import { HealthRepo } from '../store/health-repo'

type HealthHandlers = Pick<Handlers, `health.${string}` & keyof Handlers>

export function createHealthHandlers(ctx: ServiceContext): HealthHandlers {
  const repo = new HealthRepo(ctx.db)
  return {
    'health.summary': (q) => repo.summary(q)
  }
}
