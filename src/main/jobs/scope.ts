// Main process / serve / CLI (plain Node). The images a caption job covers, resolved when it is queued.
// [Note: scope in bulk] The scope used to be checked image by image (one images row, and for
// onlyUncaptioned one captions lookup, per id; the root scope listed the whole library and looked each id
// up again): over the 5,000-image demo root that was 78 ms on the idle 2-core machine, all on the main loop
// as the job started (bench part batch, the worst stall). Now one statement finds the usable ids of the
// scope, and the order is still the library's (or the caller's, for an ids scope).
import type { CaptionJobRequest } from '@shared/contract/jobs'
import { StudioError } from '@shared/errors'
import type { ServiceContext } from '../services/context'

type ScopeContext = Pick<ServiceContext, 'db' | 'images'>

/** The usable image ids of a job request, in order, each once: not failed to read, not missing, and with
 *  onlyUncaptioned no accepted caption yet. */
export function resolveScope(ctx: ScopeContext, req: CaptionJobRequest): number[] {
  const s = req.scope
  if (s.kind === 'root' && !ctx.images.root(s.rootId)) throw new StudioError('not_found', `root ${s.rootId} not found`)
  const ordered = s.kind === 'ids' ? s.ids : ctx.images.listIds(s.kind === 'filter' ? s.filter : 'all', '')
  const conds = [`(i.error IS NULL OR i.error = '')`, `i.missing = 0`]
  const params: unknown[] = []
  if (s.kind === 'root') {
    conds.push(`i.root_id = ?`)
    params.push(s.rootId)
  }
  if (s.kind === 'ids') {
    conds.push(`i.id IN (SELECT value FROM json_each(?))`)
    params.push(JSON.stringify(s.ids))
  }
  if (req.onlyUncaptioned) conds.push(`NOT EXISTS (SELECT 1 FROM captions c WHERE c.image_id = i.id AND c.status = 'accepted')`)
  const rows = ctx.db.prepare(`SELECT i.id FROM images i WHERE ${conds.join(' AND ')}`).raw().all(...params) as [number][]
  const usable = new Set(rows.map((r) => r[0]))
  return [...new Set(ordered.filter((id) => usable.has(id)))]
}
