// Shared by every process: the interop domain — importing the captions and keywords people already have
// (caption sidecars, Hugging Face metadata.jsonl, COCO captions, CSV, XMP sidecars, metadata embedded in
// the images). [Note: import preview] `interop.importPreview` reads everything and writes nothing: counts,
// conflicts with existing accepted captions, unmatched entries and per-file errors. `interop.importApply`
// reads again and writes in one transaction; an existing accepted caption is replaced only with
// `overwrite`, and then through the caption history (the old text stays as `superseded`).
import * as v from 'valibot'
import { Empty, Id, Ok, UserPath, op } from './define'

export const ImportFormat = v.picklist(['txt', 'caption', 'jsonl', 'coco', 'csv', 'xmp', 'embedded'])
export type ImportFormat = v.InferOutput<typeof ImportFormat>

const ColumnName = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200))

export const ImportRequest = v.object({
  format: ImportFormat,
  /** A file, or a folder searched recursively for files of the format (or, for `embedded`, the library
   *  images under it). */
  path: UserPath,
  /** Match only images of this root (for a folder that mirrors one root's subfolders). */
  rootId: v.optional(Id),
  /** jsonl/coco/csv: the folder file names are relative to (default: the dataset file's folder; a name
   *  not found there is also tried relative to each library root). */
  imagesDir: v.optional(UserPath),
  /** jsonl/csv: the column with the image's file name (default: file_name, file, filename, image, path). */
  fileColumn: v.optional(ColumnName),
  /** jsonl/csv: the column with the caption (default: text, caption). */
  textColumn: v.optional(ColumnName),
  /** jsonl/csv: a column with keywords (an array, or comma-separated; default: tags, keywords if present). */
  tagsColumn: v.optional(ColumnName),
  /** csv: the field delimiter (default: tab for .tsv files, else comma). */
  delimiter: v.optional(v.picklist([',', ';', '\t', '|'])),
  /** txt/caption: read the file as a caption, or as comma-separated keywords (booru-style tag files). */
  textAs: v.optional(v.picklist(['caption', 'keywords']), 'caption'),
  /** txt/caption: drop this trigger word (and the comma after it) from the start of each caption. */
  stripTrigger: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(100))),
  /** Import keywords too (xmp, embedded, a tags column, textAs keywords). */
  keywords: v.optional(v.boolean(), true),
  /** Replace existing accepted captions that differ (the old text stays in the history). */
  overwrite: v.optional(v.boolean(), false)
})
export type ImportRequest = v.InferOutput<typeof ImportRequest>

export const ImportIssue = v.object({ file: v.string(), where: v.optional(v.string()), message: v.string() })
export const ImportConflict = v.object({ imageId: Id, relPath: v.string(), current: v.string(), incoming: v.string(), file: v.string() })

export const ImportSummary = v.object({
  format: ImportFormat,
  /** false for a preview, true once written. */
  applied: v.boolean(),
  files: v.number(),
  records: v.number(),
  /** Images the records matched. */
  images: v.number(),
  /** Images without an accepted caption that get one. */
  newCaptions: v.number(),
  /** Images whose accepted caption already equals the imported one. */
  sameCaptions: v.number(),
  /** Images whose accepted caption differs from the imported one. */
  conflicts: v.number(),
  /** Of the conflicts, how many are (or with overwrite would be) replaced. */
  replaced: v.number(),
  /** Further captions of an image (more lines, more COCO annotations) stored as candidates. */
  candidates: v.number(),
  /** Keyword assignments that are new (keyword, image). */
  keywords: v.number(),
  empty: v.number(),
  unmatched: v.number(),
  errors: v.number(),
  /** The first conflicts, unmatched entries and errors (at most LIST_LIMIT each; the counts are exact). */
  conflictList: v.array(ImportConflict),
  unmatchedList: v.array(ImportIssue),
  errorList: v.array(ImportIssue)
})
export type ImportSummary = v.InferOutput<typeof ImportSummary>

export const IMPORT_LIST_LIMIT = 200

/** A sidecar another program wrote or changed whose import would change the library. */
export const SidecarOffer = v.object({
  path: v.string(),
  format: v.picklist(['txt', 'caption', 'xmp']),
  rootId: Id,
  newCaptions: v.number(),
  conflicts: v.number(),
  keywords: v.number(),
  candidates: v.number()
})
export type SidecarOffer = v.InferOutput<typeof SidecarOffer>

export const interop = {
  'interop.importPreview': op(ImportRequest, ImportSummary, 'Read captions and keywords to import; counts, conflicts and errors, nothing written'),
  'interop.importApply': op(ImportRequest, ImportSummary, 'Import captions (accepted, source imported:<format>) and keywords; existing captions only replaced with overwrite'),
  'interop.watch': op(
    v.object({ enabled: v.boolean() }),
    v.object({ watching: v.boolean(), roots: v.number() }),
    'Watch the library roots: images appear, move and disappear without a rescan; changed sidecars are offered for re-import'
  ),
  'interop.sidecarOffers': op(Empty, v.object({ offers: v.array(SidecarOffer) }), 'Sidecars changed by another program that would change the library if re-imported'),
  'interop.dismissOffers': op(v.object({ paths: v.pipe(v.array(UserPath), v.maxLength(100_000)) }), Ok, 'Stop offering these sidecars (until they change again)')
} as const
