// Main process (plain Node). Reading the files an import names: the input (a file, or a folder walked
// recursively for matching names), size caps checked before anything is read, and strict UTF-8 decoding.
// [Note: import limits] A sidecar is small (a caption, an XMP packet of a few KB); a file far larger than
// any real one is refused by its size before it is read, so a 50 MB "sidecar" costs a stat, not 50 MB of
// memory. Dataset files (COCO of all of MS-COCO is ~90 MB) get a larger cap.
import { realpath, readFile, stat } from 'node:fs/promises'
import { basename, dirname, relative } from 'node:path'
import { StudioError } from '@shared/errors'
import { walkFiles } from '../library/walk'
import { emptyRead, issue, type SourceRead } from './types'
import { XMP_MAX_BYTES } from './xmp-parse'

export const LIMITS = {
  textSidecar: 1024 * 1024,
  xmp: XMP_MAX_BYTES,
  dataset: 512 * 1024 * 1024,
  /** Longest caption accepted (as captions.accept). */
  caption: 10_000,
  /** Longest keyword (the image_tags check) and most keywords taken from one record. */
  keyword: 200,
  keywordsPerImage: 500
} as const

const utf8 = new TextDecoder('utf-8', { fatal: true })

function mb(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MB`
}

/** The file's text, refused when larger than `max` bytes or not UTF-8 (a BOM is dropped). */
export async function readCapped(path: string, max: number, what: string): Promise<string> {
  const st = await stat(path)
  if (!st.isFile()) throw new StudioError('invalid_input', `not a file`)
  if (st.size > max) throw new StudioError('invalid_input', `${what} is ${mb(st.size)}; the limit is ${mb(max)} (refused unread)`)
  const buf = await readFile(path)
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) throw new StudioError('invalid_input', `${what} is UTF-16; only UTF-8 is read`)
  let text: string
  try {
    text = utf8.decode(buf)
  } catch {
    throw new StudioError('invalid_input', `${what} is not UTF-8 text`)
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

export interface InputFiles {
  /** The real path of the input folder (a file's folder when a file was given). */
  dir: string
  files: string[]
  /** Matching entries that are never opened, and folders that could not be read, each with the reason. */
  problems: { path: string; message: string }[]
}

/** A file, or the files under a folder whose name `accept` takes (hidden entries skipped, name order). */
export async function listInputs(path: string, accept: (name: string) => boolean): Promise<InputFiles> {
  let real: string
  try {
    real = await realpath(path)
  } catch {
    throw new StudioError('not_found', `"${path}" does not exist`)
  }
  const st = await stat(real)
  if (st.isFile()) return { dir: dirname(real), files: [real], problems: [] }
  if (!st.isDirectory()) throw new StudioError('invalid_input', `"${path}" is not a file or folder`)
  const files: string[] = []
  const problems: InputFiles['problems'] = []
  // An entry with a problem (a link, FIFO, device, a name that is not UTF-8) is never opened (reading a FIFO
  // blocks) but is reported, as is a folder that cannot be read: the preview says what was not imported and why
  const onDirError = (dir: string, err: Error) => problems.push({ path: dir, message: `folder not read: ${err.message}` })
  for await (const e of walkFiles(real, accept, onDirError)) {
    if (e.problem) problems.push({ path: e.absPath, message: `not read: ${e.problem}` })
    else files.push(e.absPath)
  }
  return { dir: real, files, problems }
}

/** Run `body` for each input file (see listInputs); an error thrown for one file is that file's issue and
 *  the others go on. Entries that are not read (listInputs' problems) are issues too. */
export async function forEachInput(path: string, accept: (name: string) => boolean, body: (file: string, label: string, dir: string, out: SourceRead) => Promise<void>): Promise<SourceRead> {
  const out = emptyRead()
  const input = await listInputs(path, accept)
  for (const p of input.problems) out.errors.push(issue(shown(input.dir, p.path), p.message))
  for (const file of input.files) {
    out.files++
    const label = shown(input.dir, file)
    try {
      await body(file, label, input.dir, out)
    } catch (err) {
      out.errors.push(issue(label, err))
    }
  }
  return out
}

export function hasExt(...exts: string[]): (name: string) => boolean {
  const lower = exts.map((e) => e.toLowerCase())
  return (name) => lower.some((e) => name.toLowerCase().endsWith(e) && name.length > e.length)
}

/** `file` relative to the import folder, for messages. */
export function shown(dir: string, file: string): string {
  const rel = relative(dir, file)
  return rel && !rel.startsWith('..') ? rel : basename(file)
}

/** Normalise keywords: whitespace collapsed, empty and over-long ones dropped (reported), unique. */
export function cleanKeywords(raw: readonly string[], onDrop?: (why: string) => void): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const k of raw) {
    const t = k.replace(/\s+/g, ' ').trim()
    if (!t) continue
    if (t.length > LIMITS.keyword) {
      onDrop?.(`keyword longer than ${LIMITS.keyword} characters dropped ("${t.slice(0, 40)}…")`)
      continue
    }
    const key = t.toLowerCase()
    if (seen.has(key)) continue
    if (out.length >= LIMITS.keywordsPerImage) {
      onDrop?.(`more than ${LIMITS.keywordsPerImage} keywords; the rest dropped`)
      break
    }
    seen.add(key)
    out.push(t)
  }
  return out
}
