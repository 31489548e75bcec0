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
import { appendFile, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
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

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
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
    await writeFile(tmp, content, 'utf8')
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
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
    const present = await exists(target)
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
