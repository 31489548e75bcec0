// Main process (plain Node). `.txt` sidecar export. Images are never touched.
// [Note: sidecar names] A sidecar has the image's base name with `.txt` (kohya/TagGUI convention).
// - Next to the images: two images in one folder with the same base name (a.jpg, a.png) would share
//   `a.txt`; both are reported as conflicts and skipped rather than one silently winning.
// - Into a chosen folder: the library's subfolder structure is mirrored under it, so equal names in
//   different subfolders never collide (photos/2019/a.jpg → OUT/photos/2019/a.txt).
// Merge modes for an existing sidecar: skip (default), overwrite, append (as a new line).
// [Note: kohya lines] With a trigger word and/or tags a line is `trigger, caption, tag, tag` (", " as BD and
// kohya write it): the trigger first so `keep_tokens=1` keeps it in place while the rest is shuffled; it is
// not repeated when the caption already starts with it, and tags are de-duplicated (case-insensitively, also
// against the trigger). The extension may be .caption or .cap for trainers configured that way.
// [Note: hostile sidecars] What already sits at a sidecar's path may be hostile (a shared folder): a link
// out of the library (appending through it wrote outside), a link to /dev/zero or a FIFO (reading it never
// ends), a folder, a huge file. Anything but a regular file of at most MAX_SIDECAR_BYTES is a conflict,
// reported and left alone in every mode; new files are written through an exclusive temp file and a rename
// (which replaces a path, never follows a link).
import { appendFile, lstat, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, parse } from 'node:path'
import type { ExportAction, ExportResult, MergeMode } from '@shared/contract/exports'
import type { ExportRow } from './export-rows'

export interface SidecarOptions {
  /** Extension without the dot (default txt). */
  ext?: string
  triggerWord?: string
  dryRun?: boolean
}

/** The line written for one image (see [Note: kohya lines]). */
export function kohyaLine(caption: string, tags: readonly string[] = [], trigger?: string): string {
  const parts: string[] = []
  const seen = new Set<string>()
  if (trigger && !caption.toLowerCase().startsWith(trigger.toLowerCase())) {
    parts.push(trigger)
    seen.add(trigger.toLowerCase())
  } else if (trigger) seen.add(trigger.toLowerCase())
  parts.push(caption)
  for (const t of tags) {
    const k = t.toLowerCase()
    if (seen.has(k)) continue
    seen.add(k)
    parts.push(t)
  }
  return parts.join(', ')
}

/** A sidecar larger than this is not read for append (a caption file is a few hundred bytes). */
export const MAX_SIDECAR_BYTES = 1_000_000

/** What sits at `p`: nothing, a regular file (with its size), or something else (named). Never follows a link.
 *  Also used by file-export.ts for its single output files. */
export async function existing(p: string): Promise<{ kind: 'none' } | { kind: 'file'; size: number } | { kind: 'other'; what: string }> {
  try {
    const st = await lstat(p)
    if (st.isFile()) return { kind: 'file', size: st.size }
    const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : 'not a regular file'
    return { kind: 'other', what }
  } catch {
    return { kind: 'none' }
  }
}

export function sidecarRelPath(relPath: string, ext = 'txt'): string {
  const p = parse(relPath)
  return p.dir ? `${p.dir}/${p.name}.${ext}` : `${p.name}.${ext}`
}

/** Write through a temporary file in the same folder and rename it over the target, so a reader never
 *  sees a half-written file; the temporary file is removed if the write fails. */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  try {
    // 'wx': fails if anything (a planted link included) already has the temp name, instead of writing through it
    await writeFile(tmp, content, { encoding: 'utf8', flag: 'wx' })
    await rename(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(tmp).catch(() => undefined)
    throw err
  }
}

export async function exportSidecars(rows: readonly ExportRow[], merge: MergeMode, outDir?: string, opts: SidecarOptions = {}): Promise<ExportResult> {
  const result: ExportResult = { format: 'txt', files: [], written: 0, appended: 0, skipped: 0, conflicts: [], captions: rows.length }
  const planned: ExportAction[] = []
  const dry = opts.dryRun === true
  const targets = new Map<string, ExportRow[]>()
  for (const r of rows) {
    const rel = sidecarRelPath(r.relPath, opts.ext)
    const target = outDir ? join(outDir, rel) : join(r.rootPath, rel)
    const list = targets.get(target) ?? []
    list.push(r)
    targets.set(target, list)
  }
  for (const [target, list] of targets) {
    if (list.length > 1) {
      result.conflicts.push(`${target}: ${list.map((r) => r.relPath).join(', ')} share this sidecar name`)
      result.skipped += list.length
      planned.push({ path: target, action: 'refused' })
      continue
    }
    const row = list[0]!
    const text = opts.triggerWord || row.tags?.length ? kohyaLine(row.text, row.tags, opts.triggerWord) : row.text
    if (!dry) await mkdir(dirname(target), { recursive: true })
    const at = await existing(target)
    if (at.kind === 'other' || (at.kind === 'file' && merge === 'append' && at.size > MAX_SIDECAR_BYTES)) {
      result.conflicts.push(`${target}: ${at.kind === 'other' ? `${at.what}, not a sidecar` : `${at.size} bytes, too large for a sidecar`}; left alone`)
      result.skipped++
      planned.push({ path: target, action: 'refused' })
      continue
    }
    const present = at.kind === 'file'
    if (present) {
      if (merge === 'skip') {
        result.skipped++
        planned.push({ path: target, action: 'skip' })
        continue
      }
      if (merge === 'append') {
        const before = await readFile(target, 'utf8')
        const lines = before.split(/\r?\n/).map((l) => l.trim())
        if (lines.includes(text)) {
          result.skipped++
          planned.push({ path: target, action: 'unchanged' })
          continue
        }
        if (!dry) await appendFile(target, (before.length && !before.endsWith('\n') ? '\n' : '') + text + '\n', 'utf8')
        result.appended++
        result.files.push(target)
        planned.push({ path: target, action: 'append' })
        continue
      }
    }
    if (!dry) await writeAtomic(target, text + '\n')
    result.written++
    result.files.push(target)
    planned.push({ path: target, action: present ? 'overwrite' : 'create' })
  }
  return dry ? { ...result, dryRun: true, planned } : result
}
