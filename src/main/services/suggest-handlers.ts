// Main process / serve / CLI (plain Node). `captions.suggest`: run the active pack on one image and store
// its ranked candidates (and salient concepts) for review. [Note: captioner seam] Batch jobs and the image
// view's suggestions share one path: the engine service's `caption`, mapped to stored candidates by
// toNewCandidates (the job runner's captioner is built in services.ts from the same two pieces).
import { StudioError } from '@shared/errors'
import type { ReviewRepo } from '../store/review-repo'
import { toNewCandidates } from './candidates'
import type { ServiceContext } from './context'
import type { Handlers } from './dispatch'
import type { EngineService } from './engine-handlers'

export interface SuggestDeps {
  ctx: ServiceContext
  engine: Pick<EngineService, 'caption'>
  reviewRepo: Pick<ReviewRepo, 'setConcepts'>
  /** Re-applies the library's stored realignments before the first engine use (analysis-handlers.ts). */
  beforeEngine(): Promise<void>
}

export function createSuggestHandlers(deps: SuggestDeps): Pick<Handlers, 'captions.suggest'> {
  const { ctx } = deps
  return {
    'captions.suggest': async ({ imageId, options }) => {
      if (!ctx.images.get(imageId)) throw new StudioError('not_found', `image ${imageId} not found`)
      await deps.beforeEngine()
      const result = await deps.engine.caption(imageId, options)
      const stored = ctx.db.transaction(() => {
        const rows = ctx.captions.addCandidates(imageId, toNewCandidates(result))
        if (result.concepts.length) deps.reviewRepo.setConcepts(imageId, result.concepts)
        return rows
      })()
      ctx.emit({ type: 'captions.changed', imageId })
      const open = ctx.captions.forImage(imageId).candidates
      return { candidates: open.length ? open : stored, result }
    }
  }
}
