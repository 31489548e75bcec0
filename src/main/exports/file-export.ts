// Main process (plain Node). Single-file exports: Hugging Face `metadata.jsonl` (`file_name`, `text`),
// COCO captions JSON (`images`, `annotations`) and CSV (`file_name,text`, RFC 4180 quoting).
// `file_name` is relative to the library root (Hugging Face imagefolder convention: the file sits in the
// root folder). With several roots and no outDir, one file is written per root. An existing output file is
// kept unless merge is `overwrite` (append is not meaningful for one JSON document and is refused).
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExportFormat, ExportResult, MergeMode } from '@shared/contract/exports'
import { StudioError } from '@shared/errors'
import type { ExportRow } from './export-rows'
import { writeAtomic } from './sidecar-export'

export const FILE_NAMES: Record<Exclude<ExportFormat, 'txt'>, string> = {
  jsonl: 'metadata.jsonl',
  coco: 'captions_coco.json',
  csv: 'captions.csv'
}

export function toJsonl(rows: readonly ExportRow[]): string {
  return rows.map((r) => JSON.stringify({ file_name: r.relPath, text: r.text })).join('\n') + (rows.length ? '\n' : '')
}

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function toCsv(rows: readonly ExportRow[]): string {
  return ['file_name,text', ...rows.map((r) => `${csvField(r.relPath)},${csvField(r.text)}`)].join('\r\n') + '\r\n'
}

export function toCoco(rows: readonly ExportRow[]): string {
  const images = rows.map((r) => ({ id: r.imageId, file_name: r.relPath, width: r.width, height: r.height }))
  const annotations = rows.map((r) => ({ id: r.captionId, image_id: r.imageId, caption: r.text }))
  return JSON.stringify({ info: { description: 'Caption Studio export', date_created: new Date().toISOString() }, images, annotations }, null, 1) + '\n'
}

const RENDER: Record<Exclude<ExportFormat, 'txt'>, (rows: readonly ExportRow[]) => string> = { jsonl: toJsonl, coco: toCoco, csv: toCsv }

export async function exportFile(format: Exclude<ExportFormat, 'txt'>, rows: readonly ExportRow[], merge: MergeMode, outDir?: string): Promise<ExportResult> {
  if (merge === 'append') throw new StudioError('invalid_input', `append is only for .txt sidecars; choose skip or overwrite for ${format}`)
  const result: ExportResult = { format, files: [], written: 0, appended: 0, skipped: 0, conflicts: [], captions: rows.length }
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
    const st = await lstat(target).catch(() => null)
    if (st && !st.isFile()) {
      // [Note: hostile sidecars] a link, folder or FIFO where the file goes is left alone in every mode
      result.skipped += list.length
      result.conflicts.push(`${target} exists and is not a regular file; left alone`)
      continue
    }
    if (st && merge === 'skip') {
      result.skipped += list.length
      result.conflicts.push(`${target} exists (merge mode skip)`)
      continue
    }
    await writeAtomic(target, RENDER[format](list))
    result.written += list.length
    result.files.push(target)
  }
  return result
}
