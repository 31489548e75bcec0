// Main process / serve / CLI (plain Node). Handlers of the review domain: the filtered grid, term
// frequency, find & replace (preview and apply), bulk accept/reject and image tags.
// [Note: review writes] Bulk writes run in ONE transaction each (all images or none) and go through the
// captions repository, so history is kept exactly as for single edits. They emit one `library.changed`
// rather than an event per image: clients refetch the grid once.
import type { CaptionSource } from '@shared/contract/captions'
import type { ReplaceChange, ReplaceSkip } from '@shared/contract/review'
import { StudioError } from '@shared/errors'
import { replaceAll, type ReplaceOptions } from '../review/replace'
import { countTerms } from '../review/term-counts'
import { ReviewRepo, type AcceptedRow } from '../store/review-repo'
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'

type ReviewHandlers = Pick<Handlers, `review.${string}` & keyof Handlers>

const MAX_CAPTION = 10_000

interface Planned {
  changes: ReplaceChange[]
  skipped: ReplaceSkip[]
  matched: number
}

/** What a replacement would do to these accepted captions (pure: nothing is written). */
function plan(rows: readonly AcceptedRow[], opts: ReplaceOptions): Planned {
  const outcomes = replaceAll(
    rows.map((r) => r.text),
    opts
  )
  const out: Planned = { changes: [], skipped: [], matched: 0 }
  rows.forEach((r, k) => {
    const o = outcomes[k]
    if (!o) return
    out.matched++
    const base = { imageId: r.imageId, relPath: r.relPath, captionId: r.captionId, before: r.text }
    if (o.after === r.text) return
    if (o.after.length === 0) out.skipped.push({ ...base, reason: 'empty' })
    else if (o.after.length > MAX_CAPTION) out.skipped.push({ ...base, reason: 'too_long' })
    else out.changes.push({ ...base, after: o.after, beforeSpans: o.beforeSpans, afterSpans: o.afterSpans })
  })
  return out
}

export function createReviewHandlers(ctx: ServiceContext): ReviewHandlers {
  const repo = new ReviewRepo(ctx.db)
  const changed = () => ctx.emit({ type: 'library.changed' })

  return {
    'review.query': (q) => repo.query(q),

    'review.terms': ({ stopWords, bigrams, limit, ids }) =>
      countTerms(
        repo.accepted(ids).map((r) => r.text),
        { stopWords, bigrams },
        limit
      ),

    'review.replacePreview': ({ find, replace, regex, flags, ids }) => {
      const p = plan(repo.accepted(ids), { find, replace, regex, flags })
      return { matched: p.matched, changes: p.changes, skipped: p.skipped }
    },

    'review.replaceApply': ({ find, replace, regex, flags, ids, captionIds }) => {
      const source: CaptionSource = { kind: 'human', method: 'replace', params: { find, replace, regex, flags } }
      const run = ctx.db.transaction(() => {
        const rows = repo.accepted(ids)
        const wanted = captionIds ? new Set(captionIds) : null
        const p = plan(
          wanted ? rows.filter((r) => wanted.has(r.captionId)) : rows,
          { find, replace, regex, flags }
        )
        // Captions shown in the preview that are no longer the accepted text were edited since: skip them.
        const skipped = [...p.skipped]
        if (wanted) {
          const current = new Set(rows.map((r) => r.captionId))
          for (const id of wanted) {
            if (current.has(id)) continue
            const c = ctx.captions.get(id)
            if (c) skipped.push({ imageId: c.imageId, relPath: repo.relPath(c.imageId) ?? '', captionId: c.id, before: c.text, reason: 'stale' })
          }
        }
        const changes = p.changes.map((c) => {
          const r = ctx.captions.accept(c.imageId, c.after, source, {})
          return { imageId: c.imageId, captionId: r.caption.id, previousId: r.previousId ?? c.captionId, before: c.before, after: r.caption.text }
        })
        return { changed: changes.length, changes, skipped }
      })
      const result = run()
      if (result.changed > 0) changed()
      return result
    },

    'review.bulkAccept': ({ ids, replaceAccepted }) => {
      const run = ctx.db.transaction(() => {
        const accepted: { imageId: number; captionId: number; previousId: number | null }[] = []
        const skipped: { imageId: number; reason: 'not_found' | 'no_candidate' | 'already_accepted' }[] = []
        for (const imageId of new Set(ids)) {
          if (!ctx.images.get(imageId)) {
            skipped.push({ imageId, reason: 'not_found' })
            continue
          }
          if (!replaceAccepted && ctx.captions.accepted(imageId)) {
            skipped.push({ imageId, reason: 'already_accepted' })
            continue
          }
          const bestId = repo.bestCandidateId(imageId)
          const best = bestId === null ? undefined : ctx.captions.get(bestId)
          if (!best) {
            skipped.push({ imageId, reason: 'no_candidate' })
            continue
          }
          const r = ctx.captions.accept(imageId, best.text, best.source, best.scores, best.id)
          accepted.push({ imageId, captionId: r.caption.id, previousId: r.previousId })
        }
        return { accepted, skipped }
      })
      const result = run()
      if (result.accepted.length > 0) changed()
      return result
    },

    'review.bulkReject': ({ ids, target }) => {
      const statuses = target === 'both' ? (['candidate', 'accepted'] as const) : target === 'accepted' ? (['accepted'] as const) : (['candidate'] as const)
      const run = ctx.db.transaction(() => {
        let rejected = 0
        let images = 0
        const skipped: { imageId: number; reason: 'not_found' | 'nothing_to_reject' }[] = []
        for (const imageId of new Set(ids)) {
          if (!ctx.images.get(imageId)) {
            skipped.push({ imageId, reason: 'not_found' })
            continue
          }
          const open = repo.openCaptionIds(imageId, statuses)
          if (open.length === 0) {
            skipped.push({ imageId, reason: 'nothing_to_reject' })
            continue
          }
          for (const id of open) ctx.captions.reject(id)
          rejected += open.length
          images++
        }
        return { rejected, images, skipped }
      })
      const result = run()
      if (result.rejected > 0) changed()
      return result
    },

    'review.undo': ({ items }) => {
      const run = ctx.db.transaction(() => {
        let restored = 0
        const skipped: { imageId: number; reason: 'changed' }[] = []
        for (const it of items) {
          // Only while the bulk change is still the image's accepted caption (see captions.undo).
          if (ctx.captions.accepted(it.imageId)?.id !== it.captionId) {
            skipped.push({ imageId: it.imageId, reason: 'changed' })
            continue
          }
          ctx.captions.undo(it.imageId, it.captionId, it.previousId)
          restored++
        }
        return { restored, skipped }
      })
      const result = run()
      if (result.restored > 0) changed()
      return result
    },

    'review.addTag': ({ imageIds, tag, kind, source, score }) => {
      const added = repo.addTag(imageIds, tag, kind, source, score)
      if (added > 0) changed()
      return { added }
    },

    'review.removeTag': ({ imageIds, tag, kind }) => {
      const removed = repo.removeTag(imageIds, tag, kind)
      if (removed > 0) changed()
      return { removed }
    },

    'review.tagsOf': ({ imageId }) => {
      if (!ctx.images.get(imageId)) throw new StudioError('not_found', `image ${imageId} not found`)
      return { tags: repo.tagsOf(imageId) }
    },

    'review.allTags': () => repo.allTags()
  }
}
