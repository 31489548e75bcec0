// Main process (plain Node). Single-file exports: Hugging Face `metadata.jsonl` (`file_name`, `text`),
// COCO captions JSON (`images`, `annotations`) and CSV (`file_name,text`, RFC 4180 quoting).
// `file_name` is relative to the library root (Hugging Face imagefolder convention: the file sits in the
// root folder). With several roots and no outDir, one file is written per root. An existing output file is
// kept unless merge is `overwrite` (append is not meaningful for one JSON document and is refused).
// Rows that carry tags (the export asked for keywords) add `tags` to each JSONL object and a `tags` column
// (comma-joined) to the CSV.
import { join } from 'node:path'
import type { ExportAction, ExportFormat, ExportResult, MergeMode } from '@shared/contract/exports'
import { StudioError } from '@shared/errors'
import type { ExportRow } from './export-rows'
import { existing, writeAtomic } from './sidecar-export'

export type FileFormat = Exclude<ExportFormat, 'txt' | 'xmp'>

export const FILE_NAMES: Record<FileFormat, string> = {
  jsonl: 'metadata.jsonl',
  coco: 'captions_coco.json',
  csv: 'captions.csv'
}

export function toJsonl(rows: readonly ExportRow[]): string {
  return rows.map((r) => JSON.stringify({ file_name: r.relPath, text: r.text, ...(r.tags ? { tags: r.tags } : {}) })).join('\n') + (rows.length ? '\n' : '')
}

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function toCsv(rows: readonly ExportRow[]): string {
  const tags = rows.some((r) => r.tags)
  const line = (r: ExportRow) => `${csvField(r.relPath)},${csvField(r.text)}${tags ? `,${csvField((r.tags ?? []).join(', '))}` : ''}`
  return [tags ? 'file_name,text,tags' : 'file_name,text', ...rows.map(line)].join('\r\n') + '\r\n'
}

export function toCoco(rows: readonly ExportRow[]): string {
  const images = rows.map((r) => ({ id: r.imageId, file_name: r.relPath, width: r.width, height: r.height }))
  const annotations = rows.map((r) => ({ id: r.captionId, image_id: r.imageId, caption: r.text }))
  return JSON.stringify({ info: { description: 'Caption Studio export', date_created: new Date().toISOString() }, images, annotations }, null, 1) + '\n'
}

const RENDER: Record<FileFormat, (rows: readonly ExportRow[]) => string> = { jsonl: toJsonl, coco: toCoco, csv: toCsv }

export async function exportFile(format: FileFormat, rows: readonly ExportRow[], merge: MergeMode, outDir?: string, dryRun = false): Promise<ExportResult> {
  if (merge === 'append') throw new StudioError('invalid_input', `append is only for .txt sidecars; choose skip or overwrite for ${format}`)
  const result: ExportResult = { format, files: [], written: 0, appended: 0, skipped: 0, conflicts: [], captions: rows.length }
  const planned: ExportAction[] = []
  const groups = new Map<string, ExportRow[]>()
  for (const r of rows) {
    const dir = outDir ?? r.rootPath
    const key = outDir ? `${dir}\u0000${r.rootId}` : dir
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const roots = new Set(rows.map((r) => r.rootId))
  for (const [key, list] of groups) {
    const dir = key.split('\u0000')[0]!
    const name = outDir && roots.size > 1 ? FILE_NAMES[format].replace(/(\.\w+)$/, `.root${list[0]!.rootId}$1`) : FILE_NAMES[format]
    const target = join(dir, name)
    const at = await existing(target)
    if (at.kind === 'other') {
      // [Note: hostile sidecars] a link, folder or FIFO where the file goes is left alone in every mode
      result.skipped += list.length
      result.conflicts.push(`${target} exists and is ${at.what}, not a regular file; left alone`)
      planned.push({ path: target, action: 'refused' })
      continue
    }
    const st = at.kind === 'file'
    if (st && merge === 'skip') {
      result.skipped += list.length
      result.conflicts.push(`${target} exists (merge mode skip)`)
      planned.push({ path: target, action: 'skip' })
      continue
    }
    if (!dryRun) await writeAtomic(target, RENDER[format](list))
    result.written += list.length
    result.files.push(target)
    planned.push({ path: target, action: st ? 'overwrite' : 'create' })
  }
  return dryRun ? { ...result, dryRun: true, planned } : result
}
