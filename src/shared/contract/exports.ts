// Shared by every process: the exports domain. Exports read the store and never touch the images.
import * as v from 'valibot'
import { Id, UserPath, op } from './define'

export const ExportFormat = v.picklist(['txt', 'jsonl', 'coco', 'csv'])
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
  /** How an existing sidecar or output file is treated. */
  merge: v.optional(MergeMode, 'skip')
})
export type ExportRequest = v.InferOutput<typeof ExportRequest>

export const ExportResult = v.object({
  format: ExportFormat,
  files: v.array(v.string()),
  written: v.number(),
  appended: v.number(),
  skipped: v.number(),
  conflicts: v.array(v.string()),
  captions: v.number()
})
export type ExportResult = v.InferOutput<typeof ExportResult>

export const exportsDomain = {
  'exports.run': op(ExportRequest, ExportResult, 'Export accepted captions in one of the four formats')
} as const
