// Shared by every process: the dataset health domain — the shape of a library for curators, aggregated in
// SQL (store/health-repo.ts): caption lengths, the score distribution of accepted captions, keyword and
// concept frequency, and the counts of what still needs work. Each figure maps onto a grid filter (the
// review filters or the status filter), so a click on a plot lists those images.
import * as v from 'valibot'
import { op } from './define'
import { ScoreKey } from './review'

const Bins = v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(100))
/** [lo, hi) — for lengths in whole words, for scores in score units (the last bin includes its hi). */
export const HealthBin = v.object({ lo: v.number(), hi: v.number(), count: v.number() })
export type HealthBin = v.InferOutput<typeof HealthBin>

export const HealthSummary = v.object({
  /** Visible images (live roots, not exact duplicates). */
  images: v.number(),
  accepted: v.number(),
  uncaptioned: v.number(),
  /** Candidates waiting for review, no accepted caption. */
  candidates: v.number(),
  /** Files that cannot be read or decoded. */
  unreadable: v.number(),
  missing: v.number(),
  /** Images whose last batch-captioning attempt failed and that have no accepted caption (filter 'failed'). */
  failed: v.number(),
  /** Files hidden because their content equals another image's (exact, by hash). */
  exactDuplicates: v.number(),
  /** Words per accepted caption (captions are stored whitespace-normalised, so words = spaces + 1). */
  length: v.object({ bins: v.array(HealthBin), mean: v.nullable(v.number()), max: v.nullable(v.number()) }),
  /** The score of accepted captions on `key`; `unscored`: accepted captions without one (typed by hand). */
  score: v.object({ key: v.string(), bins: v.array(HealthBin), scored: v.number(), unscored: v.number(), mean: v.nullable(v.number()) }),
  /** Most used keywords and concepts, by visible images that carry them. */
  tags: v.array(v.object({ tag: v.string(), kind: v.picklist(['keyword', 'concept']), images: v.number() }))
})
export type HealthSummary = v.InferOutput<typeof HealthSummary>

export const health = {
  'health.summary': op(
    v.object({
      lengthBins: v.optional(Bins, 20),
      scoreKey: v.optional(ScoreKey, 'clipS'),
      scoreBins: v.optional(Bins, 20),
      tags: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(200)), 30)
    }),
    HealthSummary,
    'Dataset health: caption length histogram, score distribution of accepted captions, tag frequency, counts to fix'
  )
} as const
