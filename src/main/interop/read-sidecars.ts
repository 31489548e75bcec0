// Main process (plain Node). Import readers for sidecars: `.txt`/`.caption` caption files (kohya, OneTrainer,
// TagGUI: same base name as the image, next to it or in a folder mirroring the library) and XMP sidecars
// (`photo.jpg.xmp` darktable/digiKam, `photo.xmp` Lightroom).
// [Note: caption lines] A caption file with several lines holds several captions (kohya picks one line per
// epoch): the first line becomes the accepted caption, the other lines are kept as candidates for review.
// With textAs 'keywords' the file is a booru-style tag list: comma-separated (lines too), all keywords.
import { relative, sep } from 'node:path'
import { cleanKeywords, forEachInput, hasExt, LIMITS, readCapped } from './read-files'
import { issue, type ImportRecord, type SourceRead } from './types'
import { flatKeywords, parseXmp, pickDescription, readXmpFields } from './xmp-parse'

export interface TextSidecarOptions {
  ext: '.txt' | '.caption'
  textAs: 'caption' | 'keywords'
  stripTrigger?: string
  keywords: boolean
}

/** `trigger, rest` → `rest` (case-insensitive; the trigger word must be followed by a comma, space or end). */
export function stripTriggerWord(caption: string, trigger: string | undefined): string {
  if (!trigger) return caption
  const t = trigger.toLowerCase()
  if (!caption.toLowerCase().startsWith(t)) return caption
  const rest = caption.slice(trigger.length)
  if (rest !== '' && !/^[\s,]/.test(rest)) return caption
  return rest.replace(/^\s*,?\s*/, '')
}

function sidecarTarget(dir: string, file: string, extLength: number): ImportRecord['target'] {
  const abs = file.slice(0, file.length - extLength)
  const rel = relative(dir, abs)
  return { kind: 'sidecar', abs, mirrorRel: rel && !rel.startsWith('..') ? rel.split(sep).join('/') : null }
}

export function readTextSidecars(path: string, opts: TextSidecarOptions): Promise<SourceRead> {
  return forEachInput(path, hasExt(opts.ext), async (file, label, dir, out) => {
    const text = await readCapped(file, LIMITS.textSidecar, 'the caption file')
    const lines = text.split(/\r\n|\n|\r/).map((l) => l.trim()).filter(Boolean)
    const rec: ImportRecord = { file: label, target: sidecarTarget(dir, file, opts.ext.length), captions: [], keywords: [] }
    if (opts.textAs === 'keywords') {
      if (opts.keywords) rec.keywords = cleanKeywords(lines.flatMap((l) => l.split(',')), (why) => out.errors.push(issue(label, why)))
    } else {
      for (const l of lines) {
        const c = stripTriggerWord(l, opts.stripTrigger)
        if (!c) continue
        if (c.length > LIMITS.caption) out.errors.push(issue(label, `a caption longer than ${LIMITS.caption} characters was skipped`))
        else rec.captions.push(c)
      }
    }
    if (rec.captions.length === 0 && rec.keywords.length === 0) out.empty++
    else out.records.push(rec)
  })
}

/** Caption and keywords of one XMP packet (a sidecar's text or an image's embedded block). */
export function xmpContent(xml: string, label: string): { caption: string | null; keywords: string[] } {
  const fields = readXmpFields(parseXmp(xml, label))
  return { caption: pickDescription(fields.descriptions), keywords: flatKeywords(fields) }
}

export function readXmpSidecars(path: string, opts: { keywords: boolean }): Promise<SourceRead> {
  return forEachInput(path, hasExt('.xmp'), async (file, label, dir, out) => {
    const { caption, keywords } = xmpContent(await readCapped(file, LIMITS.xmp, 'the sidecar'), 'the sidecar')
    const rec: ImportRecord = { file: label, target: sidecarTarget(dir, file, '.xmp'.length), captions: [], keywords: [] }
    if (caption) {
      if (caption.length > LIMITS.caption) out.errors.push(issue(label, `dc:description longer than ${LIMITS.caption} characters skipped`))
      else rec.captions.push(caption)
    }
    if (opts.keywords) rec.keywords = cleanKeywords(keywords, (why) => out.errors.push(issue(label, why)))
    if (rec.captions.length === 0 && rec.keywords.length === 0) out.empty++
    else out.records.push(rec)
  })
}
