// Shared by every process: model suggestions for one image, stored as candidates for review.
import * as v from 'valibot'
import { Id, op } from './define'
import { Caption } from './captions'
import { CaptionOptionsSchema, CaptionOutput } from './engine'

export const suggest = {
  'captions.suggest': op(
    v.object({ imageId: Id, options: v.optional(CaptionOptionsSchema, {}) }),
    v.object({ candidates: v.array(Caption), result: CaptionOutput }),
    'Run the caption engine on one image and store its ranked candidates for review (never empty captions)'
  )
} as const
