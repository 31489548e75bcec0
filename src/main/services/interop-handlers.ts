// Main process / serve / CLI (plain Node). Handlers of the interop domain: import preview and apply.
import { runImport } from '../interop/import'
import { ReviewRepo } from '../store/review-repo'
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'

type InteropHandlers = Pick<Handlers, 'interop.importPreview' | 'interop.importApply'>

export function createInteropHandlers(ctx: ServiceContext): InteropHandlers {
  const deps = { db: ctx.db, captions: ctx.captions, review: new ReviewRepo(ctx.db) }
  return {
    'interop.importPreview': (req) => runImport(deps, req, false),
    'interop.importApply': async (req) => {
      const summary = await runImport(deps, req, true)
      if (summary.newCaptions + summary.replaced + summary.candidates + summary.keywords > 0) ctx.emit({ type: 'library.changed' })
      return summary
    }
  }
}
