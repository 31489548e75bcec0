// Main process (plain Node). XMP sidecar export: each image with an accepted caption or keywords gets its
// caption in dc:description (x-default) and its keywords in dc:subject. Images are never touched.
// [Note: XMP sidecar export] Names follow the setting: `ext` writes photo.jpg.xmp (darktable, digiKam),
// `replace` photo.xmp (Lightroom; two images photo.jpg and photo.png in one folder would share it, so both
// are reported and skipped). A new sidecar is written whole; an existing one is merged (xmp-merge.ts:
// every field it has is kept byte-for-byte) when merge is overwrite (caption set) or append (caption only
// where it has none), and left alone with skip. A sidecar that cannot be read or merged (malformed, too
// large, the property in attribute form) is reported in `conflicts` and left untouched. Writes go through
// a temporary file and a rename, so a sidecar is never half-written.
import { mkdir, stat } from 'node:fs/promises'
import { dirname, join, parse } from 'node:path'
import type { ExportAction, ExportResult, MergeMode } from '@shared/contract/exports'
import type { TaggedRow } from '../store/export-repo'
import { LIMITS, readCapped } from '../interop/read-files'
import { mergeXmp, newXmp, type XmpUpdate } from '../interop/xmp-merge'
import { writeAtomic } from './sidecar-export'

export type XmpNaming = 'ext' | 'replace'

export function xmpRelPath(relPath: string, naming: XmpNaming): string {
  if (naming === 'ext') return `${relPath}.xmp`
  const p = parse(relPath)
  return p.dir ? `${p.dir}/${p.name}.xmp` : `${p.name}.xmp`
}

export interface XmpExportOptions {
  naming: XmpNaming
  merge: MergeMode
  outDir?: string
  dryRun?: boolean
}

export async function exportXmp(rows: readonly TaggedRow[], opts: XmpExportOptions): Promise<ExportResult> {
  const result: ExportResult = { format: 'xmp', files: [], written: 0, appended: 0, skipped: 0, conflicts: [], captions: rows.filter((r) => r.text !== null).length }
  const planned: ExportAction[] = []
  const dry = opts.dryRun === true
  const targets = new Map<string, TaggedRow[]>()
  for (const r of rows) {
    const rel = xmpRelPath(r.relPath, opts.naming)
    const target = opts.outDir ? join(opts.outDir, rel) : join(r.rootPath, rel)
    targets.set(target, [...(targets.get(target) ?? []), r])
  }
  for (const [target, list] of targets) {
    const refuse = (why: string) => {
      result.conflicts.push(`${target}: ${why}`)
      result.skipped += list.length
      planned.push({ path: target, action: 'refused' })
    }
    if (list.length > 1) {
      refuse(`${list.map((r) => r.relPath).join(', ')} share this sidecar name (choose the photo.ext.xmp naming)`)
      continue
    }
    const row = list[0]!
    const update: XmpUpdate = { description: row.text, descriptionMode: opts.merge === 'append' ? 'ifMissing' : 'set', keywords: row.tags }
    const present = await stat(target).then(
      () => true,
      () => false
    )
    let xml: string
    if (present) {
      if (opts.merge === 'skip') {
        result.skipped++
        result.conflicts.push(`${target} exists (merge mode skip; overwrite merges the caption and keywords into it, keeping its other fields)`)
        planned.push({ path: target, action: 'skip' })
        continue
      }
      try {
        const merged = mergeXmp(await readCapped(target, LIMITS.xmp, 'the sidecar'), update)
        if (!merged.changed) {
          result.skipped++
          planned.push({ path: target, action: 'unchanged' })
          continue
        }
        xml = merged.xml
      } catch (err) {
        refuse(`${(err as Error).message} (left untouched)`)
        continue
      }
    } else {
      xml = newXmp(update)
    }
    if (!dry) {
      await mkdir(dirname(target), { recursive: true })
      await writeAtomic(target, xml)
    }
    result.written++
    result.files.push(target)
    planned.push({ path: target, action: present ? 'merge' : 'create' })
  }
  return dry ? { ...result, dryRun: true, planned } : result
}
