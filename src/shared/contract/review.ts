// Shared by every process: the review domain — reviewing a whole library at once. Filter and sort the grid
// (status, a score range, tags and concepts, caption terms), term frequency, find & replace across accepted
// captions with a preview, bulk accept/reject of a selection, and image tags (keywords and concepts).
// [Note: review writes] Every write here goes through the caption history: a replacement is a new accepted
// row superseding the old one, a bulk accept promotes a candidate, a reject only changes a status. Nothing
// is overwritten and an empty caption is never written.
import * as v from 'valibot'
import { Empty, Id, NormalizedText, op } from './define'
import { ImageFilter } from './library'

const Ids = v.pipe(v.array(Id), v.minLength(1, 'select at least one image'), v.maxLength(100_000))
const Term = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200))

/** A key of the `scores` JSON of captions (clipS, aclipS, refClipS, score…); a plain identifier. */
export const ScoreKey = v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'a score key is a plain identifier'))
export const TagKind = v.picklist(['keyword', 'concept'])
export type TagKind = v.InferOutput<typeof TagKind>
export const TagText = NormalizedText('tag', 200)

export const ReviewSort = v.picklist(['path', 'score-asc', 'score-desc'])
export type ReviewSort = v.InferOutput<typeof ReviewSort>

/** The review filters of the grid (the status filter and search box are the toolbar's). */
export const ReviewFilters = v.object({
  /** Score of an image: its accepted caption's score on this key, or else its best open candidate's. */
  scoreKey: v.optional(ScoreKey, 'clipS'),
  minScore: v.optional(v.nullable(v.pipe(v.number(), v.finite())), null),
  maxScore: v.optional(v.nullable(v.pipe(v.number(), v.finite())), null),
  /** Words in the accepted caption, [minWords, maxWords] (images without an accepted caption drop out). */
  minWords: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))), null),
  maxWords: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))), null),
  /** Every listed tag must be on the image (kind omitted: keyword or concept). */
  tags: v.optional(v.pipe(v.array(v.object({ tag: TagText, kind: v.optional(TagKind) })), v.maxLength(20)), []),
  /** Every listed term (a word or phrase, see shared/terms.ts) must occur in the accepted caption… */
  terms: v.optional(v.pipe(v.array(Term), v.maxLength(20)), []),
  /** …and none of these. */
  notTerms: v.optional(v.pipe(v.array(Term), v.maxLength(20)), []),
  /** score-asc is "worst first"; images without a score on the key come last in both score orders. */
  sort: v.optional(ReviewSort, 'path')
})
export type ReviewFilters = v.InferInput<typeof ReviewFilters>

export const ReviewQuery = v.object({
  ...ReviewFilters.entries,
  status: v.optional(ImageFilter, 'all'),
  search: v.optional(v.pipe(v.string(), v.maxLength(500)), '')
})

/** Find & replace over accepted captions. Literal by default; with `regex`, JavaScript RegExp syntax and
 *  `$1`, `$<name>`, `$&` in the replacement. The `g` flag is implied. */
export const ReplaceSpec = v.object({
  find: v.pipe(v.string(), v.minLength(1, 'type what to find'), v.maxLength(1000)),
  replace: v.pipe(v.string(), v.maxLength(1000)),
  regex: v.optional(v.boolean(), false),
  /** Extra RegExp flags: any of i, m, s, u (each once). */
  flags: v.optional(v.pipe(v.string(), v.regex(/^(?!.*(.).*\1)[imsu]*$/, 'flags may be i, m, s and u, each once')), ''),
  /** Limit to these images (a selection or the current view); all accepted captions when omitted. */
  ids: v.optional(Ids)
})
export type ReplaceSpec = v.InferInput<typeof ReplaceSpec>

const Span = v.tuple([v.number(), v.number()])
export const ReplaceChange = v.object({
  imageId: Id,
  relPath: v.string(),
  captionId: Id,
  before: v.string(),
  after: v.string(),
  /** [start, end) of every match in `before`, and of every inserted replacement in `after`. */
  beforeSpans: v.array(Span),
  afterSpans: v.array(Span)
})
export type ReplaceChange = v.InferOutput<typeof ReplaceChange>
export const ReplaceSkip = v.object({
  imageId: Id,
  relPath: v.string(),
  captionId: Id,
  before: v.string(),
  /** empty: the result would be an empty caption; too_long: over 10,000 characters; stale: the caption
   *  changed since the preview. */
  reason: v.picklist(['empty', 'too_long', 'stale'])
})
export type ReplaceSkip = v.InferOutput<typeof ReplaceSkip>

export const TermCount = v.object({ term: v.string(), count: v.number(), images: v.number() })
export type TermCount = v.InferOutput<typeof TermCount>

export const Tag = v.object({ tag: v.string(), kind: TagKind, source: v.picklist(['human', 'model']), score: v.nullable(v.number()), createdAt: v.string() })
export type Tag = v.InferOutput<typeof Tag>

const BulkSkip = v.object({ imageId: v.number(), reason: v.picklist(['not_found', 'no_candidate', 'already_accepted', 'nothing_to_reject']) })

export const review = {
  'review.query': op(
    ReviewQuery,
    v.object({ ids: v.array(v.number()), scores: v.array(v.nullable(v.number())) }),
    'Ordered image ids for the grid under the review filters, with each image’s score on the chosen key'
  ),
  'review.terms': op(
    v.object({
      stopWords: v.optional(v.boolean(), true),
      bigrams: v.optional(v.boolean(), false),
      limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5000)), 100),
      ids: v.optional(Ids)
    }),
    v.object({ captions: v.number(), tokens: v.number(), distinct: v.number(), terms: v.array(TermCount) }),
    'Term frequency over accepted captions (lowercase; stop words removed by default; optional bigrams), most frequent first'
  ),
  'review.replacePreview': op(
    ReplaceSpec,
    v.object({ matched: v.number(), changes: v.array(ReplaceChange), skipped: v.array(ReplaceSkip) }),
    'Every change a find & replace would make to accepted captions, and the captions it would refuse to empty'
  ),
  'review.replaceApply': op(
    v.object({
      ...ReplaceSpec.entries,
      /** The captions shown in the preview: only these are changed, and a caption edited since is skipped as stale. */
      captionIds: v.optional(v.pipe(v.array(Id), v.maxLength(100_000)))
    }),
    v.object({
      changed: v.number(),
      changes: v.array(v.object({ imageId: Id, captionId: Id, previousId: Id, before: v.string(), after: v.string() })),
      skipped: v.array(ReplaceSkip)
    }),
    'Apply a find & replace in one transaction: each new text is a new accepted caption superseding the old one'
  ),
  'review.bulkAccept': op(
    v.object({ ids: Ids, replaceAccepted: v.optional(v.boolean(), false) }),
    v.object({ accepted: v.array(v.object({ imageId: Id, captionId: Id, previousId: v.nullable(Id) })), skipped: v.array(BulkSkip) }),
    'Accept the best open candidate of each image (images with an accepted caption are skipped unless replaceAccepted)'
  ),
  'review.bulkReject': op(
    v.object({ ids: Ids, target: v.optional(v.picklist(['candidates', 'accepted', 'both']), 'candidates') }),
    v.object({ rejected: v.number(), images: v.number(), skipped: v.array(BulkSkip) }),
    'Reject the open candidates and/or the accepted caption of each image (history kept)'
  ),
  'review.undo': op(
    v.object({
      items: v.pipe(v.array(v.object({ imageId: Id, captionId: Id, previousId: v.nullable(Id) })), v.minLength(1), v.maxLength(100_000))
    }),
    v.object({ restored: v.number(), skipped: v.array(v.object({ imageId: v.number(), reason: v.literal('changed') })) }),
    'Undo a bulk accept or replace in one transaction (the items it returned); images changed since are skipped'
  ),
  'review.addTag': op(
    v.object({
      imageIds: Ids,
      tag: TagText,
      kind: v.optional(TagKind, 'keyword'),
      source: v.optional(v.picklist(['human', 'model']), 'human'),
      score: v.optional(v.nullable(v.pipe(v.number(), v.finite())), null)
    }),
    v.object({ added: v.number() }),
    'Add a keyword (or a detected concept) to images; images that already have it are left as they are'
  ),
  'review.removeTag': op(
    v.object({ imageIds: Ids, tag: TagText, kind: v.optional(TagKind, 'keyword') }),
    v.object({ removed: v.number() }),
    'Remove a keyword or concept from images'
  ),
  'review.tagsOf': op(v.object({ imageId: Id }), v.object({ tags: v.array(Tag) }), 'The keywords and concepts of one image'),
  'review.allTags': op(
    Empty,
    v.array(v.object({ tag: v.string(), kind: TagKind, images: v.number() })),
    'Every tag in the library with the number of visible images that carry it, most used first'
  )
} as const
