// Shared by every process: semantic search and near-duplicates over the image embeddings the studio keeps
// per pack space ([Note: embedding spaces]): text queries (CLIP text embedding with the pack's prompt),
// "more like this", the index job, duplicate groups (embedding neighbours confirmed by a perceptual hash)
// and the export exclusions that resolving a group writes ([Note: export exclusions]; files are never touched).
import * as v from 'valibot'
import { Empty, Id, op } from './define'
import { JobSummary } from './jobs'
import { ImageFilter } from './library'
import { ReviewFilters } from './review'

const PackId = v.pipe(v.string(), v.minLength(1), v.maxLength(200))
const Ids = v.pipe(v.array(Id), v.minLength(1, 'give at least one image'), v.maxLength(100_000))

export const SpaceInfo = v.object({ packId: v.string(), version: v.string(), count: v.number() })

export const SearchRequest = v.pipe(
  v.object({
    /** A text query, embedded with the active pack's text encoder and prompt… */
    text: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'type something to search for'), v.maxLength(500))),
    /** …or an image whose stored embedding is the query ("more like this"; the image itself is left out). */
    likeImageId: v.optional(Id),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 200),
    /** The toolbar's status filter and keyword search, and the review panel's filters, narrow the ranked set. */
    status: v.optional(ImageFilter, 'all'),
    search: v.optional(v.pipe(v.string(), v.maxLength(500)), ''),
    review: v.optional(v.nullable(ReviewFilters), null)
  }),
  v.check((r) => (r.text === undefined) !== (r.likeImageId === undefined), 'give either a text query or likeImageId, not both')
)
export type SearchRequest = v.InferInput<typeof SearchRequest>

export const SearchResult = v.object({
  packId: v.string(),
  version: v.string(),
  /** Images of this pack space that have an embedding (the rest cannot be ranked: run the index job). */
  indexed: v.number(),
  /** True when every row was scored; false when the HNSW graph picked the candidates (re-scored exactly). */
  exact: v.boolean(),
  ids: v.array(v.number()),
  /** Cosine similarity of each listed image to the query, parallel to `ids`, best first. */
  similarities: v.array(v.number())
})

export const DuplicateGroup = v.object({
  ids: v.array(v.number()),
  /** Lowest cosine of the group's confirmed edges, and the largest pHash distance (bits of 64) among them. */
  minSimilarity: v.number(),
  maxHashBits: v.number(),
  /** Members already excluded from export. */
  excluded: v.array(v.number())
})
export type DuplicateGroup = v.InferOutput<typeof DuplicateGroup>

export const DuplicatesRequest = v.object({
  /** Cosine a pair must reach in the pack's embedding space. */
  threshold: v.optional(v.pipe(v.number(), v.minValue(0.5), v.maxValue(1)), 0.9),
  /** Perceptual hashes may differ in at most this many bits of 64 (the confirmation). */
  maxHashBits: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(32)), 10),
  /** Groups returned (counts always cover all of them); 0 for a preview of the counts only. */
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)), 500)
})

export const DuplicatesResult = v.object({
  packId: v.string(),
  version: v.string(),
  indexed: v.number(),
  threshold: v.number(),
  /** Groups by embedding similarity alone, before the perceptual-hash confirmation. */
  candidateGroups: v.number(),
  groupCount: v.number(),
  imagesInGroups: v.number(),
  groups: v.array(DuplicateGroup)
})
export type DuplicatesResult = v.InferOutput<typeof DuplicatesResult>

export const search = {
  'search.query': op(SearchRequest, SearchResult, 'Rank the library by similarity to a text query or to one image, within the current filters'),
  'search.status': op(
    Empty,
    v.object({ active: v.nullable(SpaceInfo), missing: v.number(), spaces: v.array(SpaceInfo), excluded: v.number() }),
    'Embeddings kept per pack space, how many visible images the active pack has not embedded yet, and how many images are excluded from export'
  ),
  'search.startIndex': op(
    v.object({ packId: v.optional(PackId) }),
    v.object({ job: v.nullable(JobSummary), missing: v.number() }),
    'Queue the "index library" job: embed every visible image the pack has no embedding for (null job: nothing to do)'
  ),
  'duplicates.groups': op(DuplicatesRequest, DuplicatesResult, 'Near-duplicate groups: embedding neighbours over the threshold, confirmed by perceptual hash'),
  'duplicates.resolve': op(
    v.object({ keepId: Id, excludeIds: Ids }),
    v.object({ excluded: v.number() }),
    'Keep one image of a group and exclude the others from every export (files are never touched)'
  ),
  'duplicates.include': op(v.object({ imageIds: Ids }), v.object({ included: v.number() }), 'Take images back into exports'),
  'duplicates.exclusions': op(
    Empty,
    v.array(v.object({ imageId: v.number(), reason: v.picklist(['duplicate', 'manual']), keptId: v.nullable(v.number()) })),
    'Every image excluded from export, and the image kept in its place'
  )
} as const
