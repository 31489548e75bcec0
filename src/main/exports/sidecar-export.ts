// Main process (plain Node). `.txt` sidecar export. Images are never touched.
// [Note: sidecar names] A sidecar has the image's base name with `.txt` (kohya/TagGUI convention).
// - Next to the images: two images in one folder with the same base name (a.jpg, a.png) would share
//   `a.txt`; both are reported as conflicts and skipped rather than one silently winning.
// - Into a chosen folder: the library's subfolder structure is mirrored under it, so equal names in
//   different subfolders never collide (photos/2019/a.jpg → OUT/photos/2019/a.txt).
// Merge modes for an existing sidecar: skip (default), overwrite, append (as a new line).
import { appendFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, parse } from 'node:path'
import type { ExportResult, MergeMode } from '@shared/contract/exports'
import type { ExportRow } from './export-rows'

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}

export function sidecarRelPath(relPath: string): string {
  const p = parse(relPath)
  return p.dir ? `${p.dir}/${p.name}.txt` : `${p.name}.txt`
}

export async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  await writeFile(tmp, content, 'utf8')
  await rename(tmp, path)
}

export async function exportSidecars(rows: readonly ExportRow[], merge: MergeMode, outDir?: string): Promise<ExportResult> {
  const result: ExportResult = { format: 'txt', files: [], written: 0, appended: 0, skipped: 0, conflicts: [], captions: rows.length }
  const targets = new Map<string, ExportRow[]>()
  for (const r of rows) {
    const rel = sidecarRelPath(r.relPath)
    const target = outDir ? join(outDir, rel) : join(r.rootPath, rel)
    const list = targets.get(target) ?? []
    list.push(r)
    targets.set(target, list)
  }
  for (const [target, list] of targets) {
    if (list.length > 1) {
      result.conflicts.push(`${target}: ${list.map((r) => r.relPath).join(', ')} share this sidecar name`)
      result.skipped += list.length
      continue
    }
    const text = list[0]!.text
    await mkdir(dirname(target), { recursive: true })
    if (await exists(target)) {
      if (merge === 'skip') {
        result.skipped++
        continue
      }
      if (merge === 'append') {
        const before = await readFile(target, 'utf8')
        const lines = before.split(/\r?\n/).map((l) => l.trim())
        if (lines.includes(text)) {
          result.skipped++
          continue
        }
        await appendFile(target, (before.length && !before.endsWith('\n') ? '\n' : '') + text + '\n', 'utf8')
        result.appended++
        result.files.push(target)
        continue
      }
    }
    await writeAtomic(target, text + '\n')
    result.written++
    result.files.push(target)
  }
  return result
}
