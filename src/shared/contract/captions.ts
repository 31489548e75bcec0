// Shared by every process: the captions domain. [Note: caption history] An edit never overwrites: it
// inserts a new row and marks the previous accepted row `superseded`, so every change can be undone.
import * as v from 'valibot'
import { Id, NormalizedText, isBoundedJson, op } from './define'

export const CaptionStatus = v.picklist(['candidate', 'accepted', 'rejected', 'superseded'])
export const CaptionSource = v.object({
  kind: v.picklist(['human', 'model']),
  packId: v.optional(v.string()),
  method: v.optional(v.string()),
  params: v.optional(v.pipe(v.record(v.string(), v.unknown()), v.check((p) => isBoundedJson(p), 'params must be plain JSON, at most 32 levels deep and 10,000 values')))
})
export type CaptionSource = v.InferOutput<typeof CaptionSource>

export const Caption = v.object({
  id: Id,
  imageId: Id,
  text: v.string(),
  status: CaptionStatus,
  source: CaptionSource,
  scores: v.record(v.string(), v.number()),
  parentId: v.nullable(v.number()),
  createdAt: v.string(),
  updatedAt: v.string()
})
export type Caption = v.InferOutput<typeof Caption>

export const CaptionText = NormalizedText('caption', 10_000)

export const captions = {
  'captions.forImage': op(
    v.object({ imageId: Id }),
    v.object({ accepted: v.nullable(Caption), candidates: v.array(Caption), history: v.array(Caption) }),
    'The accepted caption, open candidates and full history of one image'
  ),
  'captions.accept': op(
    v.object({
      imageId: Id,
      text: CaptionText,
      source: v.optional(CaptionSource, { kind: 'human' }),
      scores: v.optional(v.record(v.string(), v.number()), {}),
      fromCandidateId: v.optional(Id)
    }),
    v.object({ caption: Caption, previousId: v.nullable(v.number()), changed: v.boolean() }),
    'Accept a caption (typed, or a candidate as-is or edited); supersedes the previous accepted one'
  ),
  'captions.reject': op(v.object({ captionId: Id }), Caption, 'Reject a candidate or an accepted caption'),
  'captions.undo': op(
    v.object({ imageId: Id, captionId: Id, previousId: v.nullable(Id) }),
    v.object({ restored: v.nullable(Caption) }),
    'Undo an accept: supersede it and restore the previous accepted text as a new row'
  )
} as const
