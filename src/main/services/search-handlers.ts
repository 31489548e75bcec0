// Main process / serve / CLI (plain Node). Handlers of the search domain: semantic search and "more like
// this" within the grid's filters, the index job, near-duplicate groups and export exclusions. Vectors come
// from the engine service (inference in the engine worker), ranking from LibrarySearch.
import type { OpParsedInput } from '@shared/contract'
import { StudioError } from '@shared/errors'
import type { ServiceContext } from './context'
import type { Handlers } from './dispatch'
import type { EngineService } from './engine-handlers'
import type { EmbeddingsRepo } from '../store/embeddings-repo'
import type { ReviewRepo } from '../store/review-repo'
import type { JobRunner } from '../jobs/runner'
import { INDEX_KIND } from '../jobs/index-job'
import type { LibrarySearch } from '../search/library-search'
import { normalized } from '../search/quantize'

type SearchOps = 'search.query' | 'search.status' | 'search.startIndex' | 'duplicates.groups' | 'duplicates.resolve' | 'duplicates.include' | 'duplicates.exclusions'

export interface SearchDeps {
  ctx: ServiceContext
  engine: Pick<EngineService, 'packSpace' | 'embedQuery'>
  repo: EmbeddingsRepo
  reviewRepo: ReviewRepo
  search: LibrarySearch
  jobs: JobRunner
}

/** The images the grid's filters leave, or undefined when nothing narrows the library. */
function allowedIds(deps: SearchDeps, q: OpParsedInput<'search.query'>): Set<number> | undefined {
  if (q.review) return new Set(deps.reviewRepo.query({ ...q.review, status: q.status, search: q.search }).ids)
  if (q.status === 'all' && q.search.trim() === '') return undefined
  return new Set(deps.ctx.images.listIds(q.status, q.search))
}

export function createSearchHandlers(deps: SearchDeps): Pick<Handlers, SearchOps> {
  const { ctx, repo, search } = deps
  return {
    'search.query': async (q) => {
      let space: { packId: string; version: string }
      let vector: Float32Array
      if (q.text !== undefined) {
        ;({ space, vector } = await deps.engine.embedQuery(q.text))
      } else {
        if (!ctx.images.get(q.likeImageId!)) throw new StudioError('not_found', `image ${q.likeImageId} not found`)
        const p = await deps.engine.packSpace()
        space = { packId: p.packId, version: p.version }
        vector = search.vectorOf(space, q.likeImageId!)
      }
      const { hits, exact } = await search.query(space, normalized(vector), q.limit, allowedIds(deps, q), q.likeImageId)
      return { ...space, indexed: search.space(space).size, exact, ids: hits.map((h) => h.id), similarities: hits.map((h) => h.similarity) }
    },

    'search.status': async () => {
      const spaces = repo.spaces()
      let active: { packId: string; version: string; count: number } | null = null
      let missing = 0
      try {
        const p = await deps.engine.packSpace()
        active = { packId: p.packId, version: p.version, count: repo.count(p) }
        missing = repo.missing(p).length
      } catch {
        // no usable pack: nothing is active, nothing can be indexed
      }
      return { active, missing, spaces, excluded: repo.exclusions().length }
    },

    'search.startIndex': async ({ packId }) => {
      const p = await deps.engine.packSpace(packId)
      const ids = repo.missing(p)
      if (ids.length === 0) return { job: null, missing: 0 }
      return { job: deps.jobs.enqueueItems(INDEX_KIND, { packId: p.packId, version: p.version }, ids), missing: ids.length }
    },

    'duplicates.groups': async ({ threshold, maxHashBits, limit }) => {
      const p = await deps.engine.packSpace()
      const space = { packId: p.packId, version: p.version }
      const g = await search.group(space, { threshold, maxHashBits })
      const excluded = new Set(repo.exclusions().map((x) => x.imageId))
      return {
        ...space,
        indexed: search.space(space).size,
        threshold,
        candidateGroups: g.candidateGroups.length,
        groupCount: g.groups.length,
        imagesInGroups: g.groups.reduce((n, x) => n + x.ids.length, 0),
        groups: g.groups.slice(0, limit).map((x) => ({ ...x, excluded: x.ids.filter((id) => excluded.has(id)) }))
      }
    },

    'duplicates.resolve': ({ keepId, excludeIds }) => {
      const ids = [...new Set(excludeIds)].filter((id) => id !== keepId)
      for (const id of [keepId, ...ids]) if (!ctx.images.get(id)) throw new StudioError('not_found', `image ${id} not found`)
      const excluded = ctx.db.transaction(() => {
        repo.include([keepId])
        return repo.exclude(ids, 'duplicate', keepId)
      })()
      ctx.emit({ type: 'library.changed' })
      return { excluded }
    },

    'duplicates.include': ({ imageIds }) => {
      const included = repo.include(imageIds)
      ctx.emit({ type: 'library.changed' })
      return { included }
    },

    'duplicates.exclusions': () => repo.exclusions()
  }
}
