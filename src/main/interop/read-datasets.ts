// Main process (plain Node). Import readers for dataset files: Hugging Face `metadata.jsonl` (imagefolder:
// `file_name` plus a text column), COCO captions JSON (`images` + `annotations`) and CSV/TSV (a header row,
// columns mapped by name).
// [Note: dataset errors] Line-oriented files fail per line: a JSONL line that is not JSON, a CSV row short
// of a column, a COCO annotation whose image_id names no image are each reported with their line, row or
// annotation, and the other entries are imported. A file whose structure is broken (a COCO file that is not
// JSON, a CSV quote never closed) is one error and contributes nothing. Several entries for one image
// (COCO's five captions per image, repeated rows) give it several captions: the first accepted, the rest
// candidates (see import-plan.ts).
import { resolve } from 'node:path'
import * as v from 'valibot'
import { StudioError } from '@shared/errors'
import { findColumn, parseCsv } from './csv-read'
import { cleanKeywords, forEachInput, hasExt, LIMITS, readCapped } from './read-files'
import { issue, type ImportRecord, type SourceRead } from './types'

export const FILE_COLUMNS = ['file_name', 'file', 'filename', 'image', 'path']
export const TEXT_COLUMNS = ['text', 'caption']
export const TAG_COLUMNS = ['tags', 'keywords']

export interface DatasetOptions {
  imagesDir?: string
  fileColumn?: string
  textColumn?: string
  tagsColumn?: string
  delimiter?: string
  keywords: boolean
}

function texts(value: unknown): string[] {
  if (typeof value === 'string') return value.trim() ? [value] : []
  if (Array.isArray(value)) return value.filter((x): x is string => typeof x === 'string' && x.trim() !== '')
  return []
}

function tagList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(',')
  if (Array.isArray(value)) return value.filter((x): x is string => typeof x === 'string')
  return []
}

/** One entry → a record (or an error message); shared by the JSONL and CSV readers. */
function entry(file: string, where: string, base: string, name: unknown, captions: string[], tags: string[], onIssue: (m: string) => void): ImportRecord | null {
  if (typeof name !== 'string' || !name.trim()) {
    onIssue('no file name')
    return null
  }
  const ok = captions.map((c) => c.replace(/\s+/g, ' ').trim()).filter((c) => {
    if (c.length <= LIMITS.caption) return c !== ''
    onIssue(`a caption longer than ${LIMITS.caption} characters was skipped`)
    return false
  })
  return { file, where, target: { kind: 'file', abs: resolve(base, name), rel: name }, captions: ok, keywords: cleanKeywords(tags, onIssue) }
}

function pushRecord(out: SourceRead, rec: ImportRecord | null): void {
  if (!rec) return
  if (rec.captions.length === 0 && rec.keywords.length === 0) out.empty++
  else out.records.push(rec)
}

const baseOf = (opts: DatasetOptions, file: string) => (opts.imagesDir ? resolve(opts.imagesDir) : resolve(file, '..'))

export function readJsonl(path: string, opts: DatasetOptions): Promise<SourceRead> {
  return forEachInput(path, hasExt('.jsonl'), async (file, label, _dir, out) => {
    const base = baseOf(opts, file)
    const text = await readCapped(file, LIMITS.dataset, 'the JSONL file')
    const lines = text.split(/\r?\n/)
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k]!.trim()
      if (!line) continue
      const where = `line ${k + 1}`
      const onIssue = (m: string) => out.errors.push(issue(label, m, where))
      let obj: unknown
      try {
        obj = JSON.parse(line)
      } catch (err) {
        onIssue(`not JSON (${(err as Error).message})`)
        continue
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
        onIssue('not a JSON object')
        continue
      }
      const o = obj as Record<string, unknown>
      const fileKey = opts.fileColumn ?? FILE_COLUMNS.find((c) => c in o)
      const textKey = opts.textColumn ?? TEXT_COLUMNS.find((c) => c in o)
      const tagKey = opts.tagsColumn ?? TAG_COLUMNS.find((c) => c in o)
      if (opts.textColumn && !(opts.textColumn in o) && !(tagKey && tagKey in o)) {
        onIssue(`no "${opts.textColumn}" field`)
        continue
      }
      const caps = textKey ? texts(o[textKey]) : []
      const tags = opts.keywords && tagKey ? tagList(o[tagKey]) : []
      pushRecord(out, entry(label, where, base, fileKey ? o[fileKey] : undefined, caps, tags, onIssue))
    }
  })
}

const CocoSchema = v.object({
  images: v.array(v.looseObject({ id: v.union([v.number(), v.string()]), file_name: v.string() })),
  annotations: v.array(v.looseObject({ image_id: v.union([v.number(), v.string()]), caption: v.optional(v.unknown()) }))
})

export function readCoco(path: string, opts: DatasetOptions): Promise<SourceRead> {
  return forEachInput(path, hasExt('.json'), async (file, label, _dir, out) => {
    const base = baseOf(opts, file)
    let json: unknown
    try {
      json = JSON.parse(await readCapped(file, LIMITS.dataset, 'the COCO file'))
    } catch (err) {
      throw err instanceof StudioError ? err : new StudioError('invalid_input', `not JSON (${(err as Error).message})`)
    }
    const parsed = v.safeParse(CocoSchema, json)
    if (!parsed.success) throw new StudioError('invalid_input', 'not COCO captions (needs "images" with id and file_name, and "annotations" with image_id and caption)')
    const images = new Map<string, { name: string; captions: string[] }>()
    for (const im of parsed.output.images) images.set(String(im.id), { name: im.file_name, captions: [] })
    parsed.output.annotations.forEach((a, k) => {
      const where = `annotation ${'id' in a ? String(a.id) : `#${k + 1}`}`
      const im = images.get(String(a.image_id))
      const caption = typeof a.caption === 'string' ? a.caption.replace(/\s+/g, ' ').trim() : ''
      if (!im) out.errors.push(issue(label, `image_id ${String(a.image_id)} matches no image in the file`, where))
      else if (!caption) out.errors.push(issue(label, 'no caption', where))
      else if (caption.length > LIMITS.caption) out.errors.push(issue(label, `a caption longer than ${LIMITS.caption} characters was skipped`, where))
      else im.captions.push(caption)
    })
    for (const [id, im] of images) {
      if (im.captions.length === 0) continue
      out.records.push({ file: label, where: `image ${id}`, target: { kind: 'file', abs: resolve(base, im.name), rel: im.name }, captions: im.captions, keywords: [] })
    }
  })
}

export function readCsv(path: string, opts: DatasetOptions): Promise<SourceRead> {
  return forEachInput(path, hasExt('.csv', '.tsv'), async (file, label, _dir, out) => {
    const base = baseOf(opts, file)
    const delimiter = opts.delimiter ?? (file.toLowerCase().endsWith('.tsv') ? '\t' : ',')
    const rows = parseCsv(await readCapped(file, LIMITS.dataset, 'the CSV file'), delimiter)
    const header = rows.shift()
    if (!header) throw new StudioError('invalid_input', 'empty file (a header row is needed)')
    const col = (given: string | undefined, defaults: string[], what: string, required: boolean): number => {
      const k = findColumn(header.fields, given ? [given] : defaults)
      if (k < 0 && (required || given)) throw new StudioError('invalid_input', `no ${what} column (looked for ${(given ? [given] : defaults).join(', ')}; the header has ${header.fields.join(', ')})`)
      return k
    }
    const fileCol = col(opts.fileColumn, FILE_COLUMNS, 'file name', true)
    const tagCol = opts.keywords ? col(opts.tagsColumn, TAG_COLUMNS, 'keywords', false) : -1
    const textCol = col(opts.textColumn, TEXT_COLUMNS, 'text', tagCol < 0)
    for (const row of rows) {
      const where = `row at line ${row.line}`
      const onIssue = (m: string) => out.errors.push(issue(label, m, where))
      const need = Math.max(fileCol, textCol, tagCol)
      if (row.fields.length <= need) {
        onIssue(`${row.fields.length} fields; the header has ${header.fields.length}`)
        continue
      }
      const caps = textCol >= 0 ? texts(row.fields[textCol]) : []
      const tags = tagCol >= 0 ? tagList(row.fields[tagCol]) : []
      pushRecord(out, entry(label, where, base, row.fields[fileCol], caps, tags, onIssue))
    }
  })
}
