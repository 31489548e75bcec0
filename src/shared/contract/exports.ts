// Shared by every process: the exports domain. Exports read the store and never touch the images.
import * as v from 'valibot'
import { Id, UserPath, op } from './define'

export const ExportFormat = v.picklist(['txt', 'jsonl', 'coco', 'csv', 'xmp'])
export type ExportFormat = v.InferOutput<typeof ExportFormat>
export const MergeMode = v.picklist(['skip', 'overwrite', 'append'])
export type MergeMode = v.InferOutput<typeof MergeMode>

export const ExportRequest = v.object({
  format: ExportFormat,
  /** Restrict to one root; default all roots. */
  rootId: v.optional(Id),
  /** txt: omitted = sidecars next to the images; set = mirror the library's subfolders under this folder.
   *  jsonl/coco/csv: the folder the file is written to (default: the root folder, Hugging Face style). */
  outDir: v.optional(UserPath),
  /** How an existing sidecar or output file is treated. xmp: skip leaves existing sidecars alone;
   *  overwrite merges the caption (x-default) and keywords into them, keeping all their other fields;
   *  append merges keywords and fills the caption only where the sidecar has none. */
  merge: v.optional(MergeMode, 'skip'),
  /** xmp: `photo.jpg.xmp` (darktable, digiKam) or `photo.xmp` (Lightroom). */
  xmpNaming: v.optional(v.picklist(['ext', 'replace']), 'ext'),
  /** txt/jsonl/csv: add the image's keywords (txt: comma-joined after the caption, kohya style; jsonl: a
   *  `tags` array; csv: a `tags` column). xmp always writes keywords to dc:subject. */
  tags: v.optional(v.boolean(), false),
  /** Also the concepts the engine found (with tags, or in xmp's dc:subject). */
  concepts: v.optional(v.boolean(), false),
  /** txt: a trigger word written first (kohya: keep it with keep_tokens=1). */
  triggerWord: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100), v.check((s) => !/[\r\n]/.test(s), 'one line'))),
  /** txt: the caption file extension (.txt, or .caption / .cap as some trainers expect). */
  captionExt: v.optional(v.picklist(['txt', 'caption', 'cap']), 'txt'),
  /** List what would be written (planned) and write nothing. */
  dryRun: v.optional(v.boolean(), false)
})
export type ExportRequest = v.InferOutput<typeof ExportRequest>

export const ExportAction = v.object({
  path: v.string(),
  action: v.picklist(['create', 'overwrite', 'append', 'merge', 'unchanged', 'skip', 'refused'])
})
export type ExportAction = v.InferOutput<typeof ExportAction>

export const ExportResult = v.object({
  format: ExportFormat,
  files: v.array(v.string()),
  written: v.number(),
  appended: v.number(),
  skipped: v.number(),
  conflicts: v.array(v.string()),
  captions: v.number(),
  /** Set on a dry run: nothing was written; `planned` says what would be. */
  dryRun: v.optional(v.boolean()),
  planned: v.optional(v.array(ExportAction))
})
export type ExportResult = v.InferOutput<typeof ExportResult>

export const exportsDomain = {
  'exports.run': op(ExportRequest, ExportResult, 'Export accepted captions (txt, jsonl, coco, csv) or write them with keywords into XMP sidecars')
} as const
