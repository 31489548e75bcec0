// Shared by every process: the library domain (roots, images, scans).
import * as v from 'valibot'
import { Empty, Id, Ok, UserPath, op } from './define'

/** failed: the last batch-captioning attempt of the image failed and it has no accepted caption. */
export const ImageFilter = v.picklist(['all', 'uncaptioned', 'accepted', 'candidates', 'errors', 'failed'])
export type ImageFilter = v.InferOutput<typeof ImageFilter>

export const Root = v.object({
  id: Id,
  path: v.string(),
  addedAt: v.string(),
  imageCount: v.number(),
  scanning: v.boolean()
})
export type Root = v.InferOutput<typeof Root>

export const ImageSummary = v.object({
  id: Id,
  rootId: Id,
  relPath: v.string(),
  fileName: v.string(),
  width: v.nullable(v.number()),
  height: v.nullable(v.number()),
  hash: v.string(),
  missing: v.boolean(),
  error: v.nullable(v.string()),
  caption: v.nullable(v.string()),
  captionStatus: v.nullable(v.picklist(['accepted', 'candidate'])),
  thumbUrl: v.string(),
  imageUrl: v.string()
})
export type ImageSummary = v.InferOutput<typeof ImageSummary>

export const ImageDetail = v.object({
  ...ImageSummary.entries,
  absPath: v.string(),
  bytes: v.number(),
  mtimeMs: v.number(),
  orientation: v.nullable(v.number()),
  format: v.nullable(v.string()),
  duplicates: v.array(v.string())
})
export type ImageDetail = v.InferOutput<typeof ImageDetail>

export const Counts = v.object({
  total: v.number(),
  accepted: v.number(),
  uncaptioned: v.number(),
  candidates: v.number(),
  errors: v.number(),
  missing: v.number(),
  duplicates: v.number()
})
export type Counts = v.InferOutput<typeof Counts>

export const ScanResult = v.object({
  rootId: Id,
  seen: v.number(),
  added: v.number(),
  changed: v.number(),
  moved: v.number(),
  missing: v.number(),
  duplicates: v.number(),
  errors: v.number(),
  skipped: v.number(),
  /** What was skipped and why (folders that cannot be opened, files that vanished), at most 100. */
  problems: v.array(v.object({ path: v.string(), message: v.string() }))
})
export type ScanResult = v.InferOutput<typeof ScanResult>

export const library = {
  'library.listRoots': op(Empty, v.array(Root), 'Library roots with image counts'),
  'library.addRoot': op(v.object({ path: UserPath }), Root, 'Add a folder and start scanning it (progress via events)'),
  'library.removeRoot': op(v.object({ rootId: Id }), Ok, 'Forget a root (files are never touched; captions are kept in history)'),
  'library.rescan': op(v.object({ rootId: Id }), Ok, 'Rescan a root: finds new, moved, missing and changed files'),
  'library.waitForScans': op(Empty, v.array(ScanResult), 'Resolve once no scan is running; returns the last results', 'internal'),
  'library.listIds': op(
    v.object({ filter: v.optional(ImageFilter, 'all'), search: v.optional(v.pipe(v.string(), v.maxLength(500)), '') }),
    v.object({ ids: v.array(v.number()) }),
    'Ordered image ids for a filter (the grid virtualises over this list)'
  ),
  'library.getImages': op(
    v.object({ ids: v.pipe(v.array(Id), v.maxLength(500)) }),
    v.array(ImageSummary),
    'Summaries for a visible range of the grid'
  ),
  'library.getImage': op(v.object({ id: Id }), ImageDetail, 'Everything known about one image'),
  'library.visible': op(
    v.object({ ids: v.pipe(v.array(Id), v.maxLength(500)) }),
    v.object({ prioritized: v.number() }),
    'The image ids the grid shows: their thumbnails are made first ([Note: visible first])'
  ),
  'library.counts': op(Empty, Counts, 'Counts for the status bar'),
  'library.nextUncaptioned': op(
    v.object({ afterId: v.optional(Id) }),
    v.object({ id: v.nullable(v.number()) }),
    'The next uncaptioned image after a given one, wrapping around'
  )
} as const
