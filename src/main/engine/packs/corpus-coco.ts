// Any process (pure). Reading a caption corpus in COCO captions format (`{images, annotations: [{image_id,
// id, caption}]}`, e.g. captions_train2017.json) into a deduplicated, optionally subsampled caption list.
// [Note: corpus dedupe] Captions are compared after trimming, collapsing whitespace, lowercasing and dropping
// one final period, so "A dog." and "a  dog" are one datastore row (the first spelling is kept). With
// `maxCaptions` the sample is a seeded shuffle of the unique captions, so a small build still covers the
// whole corpus rather than its first images, and the same options always give the same rows.
import * as v from 'valibot'
import { describeIssues } from '@shared/contract/define'
import { StudioError } from '@shared/errors'
import { createRng } from '../math/rng'
import { captionKey } from './datastore-format'

const CocoCaptions = v.object({
  annotations: v.pipe(
    v.array(v.object({ caption: v.string() }), 'annotations must be an array of {caption}'),
    v.minLength(1, 'annotations is empty')
  )
})

export interface CorpusRead {
  captions: string[]
  /** Annotations read, before dedupe and sampling. */
  read: number
  duplicates: number
}


/** Parse COCO captions JSON text; `label` names the file in errors. */
export function readCocoCaptions(text: string, label: string, opts: { maxCaptions?: number; seed?: number; maxLength?: number } = {}): CorpusRead {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new StudioError('invalid_input', `${label} is not COCO captions JSON: not JSON (${(err as Error).message.slice(0, 120)})`)
  }
  const parsed = v.safeParse(CocoCaptions, json)
  if (!parsed.success) throw new StudioError('invalid_input', `${label} is not COCO captions JSON: ${describeIssues(parsed.issues)}`)
  const maxLength = opts.maxLength ?? 300
  const seen = new Set<string>()
  const unique: string[] = []
  for (const a of parsed.output.annotations) {
    const text = a.caption.trim().replace(/\s+/g, ' ')
    if (!text || text.length > maxLength) continue
    const key = captionKey(text)
    if (seen.has(key)) continue
    seen.add(key)
    unique.push(text)
  }
  const read = parsed.output.annotations.length
  const duplicates = read - unique.length
  const max = opts.maxCaptions
  if (max === undefined || max >= unique.length) return { captions: unique, read, duplicates }
  const rng = createRng(opts.seed ?? 1)
  for (let i = unique.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1))
    const t = unique[i]!
    unique[i] = unique[j]!
    unique[j] = t
  }
  return { captions: unique.slice(0, max), read, duplicates }
}
