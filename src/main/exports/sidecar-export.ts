// Main process (plain Node). `.txt` sidecar export. Images are never touched.
// [Note: sidecar names] A sidecar has the image's base name with `.txt` (kohya/TagGUI convention).
// - Next to the images: two images in one folder with the same base name (a.jpg, a.png) would share
//   `a.txt`; both are reported as conflicts and skipped rather than one silently winning.
// - Into a chosen folder: the library's subfolder structure is mirrored under it, so equal names in
//   different subfolders never collide (photos/2019/a.jpg → OUT/photos/2019/a.txt).
// Merge modes for an existing sidecar: skip (default), overwrite, append (as a new line).
// [Note: hostile sidecars] What already sits at a sidecar's path may be hostile (a shared folder): a link
// out of the library (appending through it wrote outside), a link to /dev/zero or a FIFO (reading it never
// ends), a folder, a huge file. Anything but a regular file of at most MAX_SIDECAR_BYTES is a conflict,
// reported and left alone in every mode; new files are written through an exclusive temp file and a rename
// (which replaces a path, never follows a link).
import { appendFile, lstat, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join, parse } from 'node:path'
import type { ExportResult, MergeMode } from '@shared/contract/exports'
import type { ExportRow } from './export-rows'

/** A sidecar larger than this is not read for append (a caption file is a few hundred bytes). */
export const MAX_SIDECAR_BYTES = 1_000_000

/** What sits at `p`: nothing, a regular file (with its size), or something else (named). */
async function existing(p: string): Promise<{ kind: 'none' } | { kind: 'file'; size: number } | { kind: 'other'; what: string }> {
  try {
    const st = await lstat(p)
    if (st.isFile()) return { kind: 'file', size: st.size }
    const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : 'not a regular file'
    return { kind: 'other', what }
  } catch {
    return { kind: 'none' }
  }
}

export function sidecarRelPath(relPath: string): string {
  const p = parse(relPath)
  return p.dir ? `${p.dir}/${p.name}.txt` : `${p.name}.txt`
}

export async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  // 'wx': fails if anything (a planted link included) already has the temp name, instead of writing through it
  await writeFile(tmp, content, { encoding: 'utf8', flag: 'wx' })
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
    const at = await existing(target)
    if (at.kind === 'other' || (at.kind === 'file' && merge === 'append' && at.size > MAX_SIDECAR_BYTES)) {
      result.conflicts.push(`${target}: ${at.kind === 'other' ? `${at.what}, not a sidecar` : `${at.size} bytes, too large for a sidecar`}; left alone`)
      result.skipped++
      continue
    }
    if (at.kind === 'file') {
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
