// Shared by every process: analyses over the library's accepted (image, caption) pairs — the modality-gap
// view, MacCap's region-versus-global similarity, and "learn from my captions" (realignment refit).
import * as v from 'valibot'
import { Empty, Id, op } from './define'
import { GapOutput } from './engine'

export const RefitReport = v.object({
  packId: v.string(),
  method: v.picklist(['procrustes', 'ridge']),
  pairs: v.number(),
  train: v.number(),
  heldOut: v.number(),
  /** Mean aCLIP-S on the held-out slice with the realignment used before the refit, and with the new one. */
  before: v.number(),
  after: v.number(),
  beforeSource: v.picklist(['pack', 'library', 'none']),
  fitMs: v.number(),
  fittedAt: v.string()
})
export type RefitReport = v.InferOutput<typeof RefitReport>

export const analysis = {
  'analysis.gap': op(
    v.object({ maxPairs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(3), v.maxValue(20_000)), 2000) }),
    v.object({ imageIds: v.array(Id), captions: v.array(v.string()), gap: GapOutput }),
    'Modality gap over the accepted pairs of the library (points are in imageIds order)'
  ),
  'analysis.regionVsGlobal': op(
    v.object({ maxImages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2000)), 200), mode: v.optional(v.picklist(['patch', 'crops']), 'patch') }),
    v.object({ items: v.array(v.object({ imageId: Id, global: v.number(), maxRegion: v.number(), meanRegion: v.number() })) }),
    "Each accepted caption's cosine with the global image embedding and with its best subregion (MacCap's first finding)"
  ),
  'analysis.refit': op(
    v.object({ method: v.optional(v.picklist(['procrustes', 'ridge']), 'ridge'), holdout: v.optional(v.pipe(v.number(), v.minValue(0.05), v.maxValue(0.5)), 0.2) }),
    RefitReport,
    'Refit the realignment from the accepted pairs of this library; measured on a held-out slice; stored per library and activated'
  ),
  'analysis.refitStatus': op(
    Empty,
    v.object({ last: v.nullable(RefitReport), acceptsSince: v.number(), every: v.number(), accepted: v.number() }),
    'The last refit, and how many accepts happened since (auto-refit runs every `every` accepts; 0 = off)'
  ),
  'analysis.setRefitEvery': op(v.object({ every: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)) }), v.object({ every: v.number() }), 'Auto-refit after this many new accepts (0 turns it off)')
} as const
