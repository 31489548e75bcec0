// Main process (plain Node). Import reader for metadata embedded in the library's images, read by exifr:
// the XMP packet (parsed by the same guarded reader as sidecars), IPTC Caption-Abstract and Keywords, EXIF
// ImageDescription and UserComment. Images are only read, never written.
// [Note: embedded precedence] Readers try XMP first, then IPTC-IIM, then EXIF (what digiKam keeps in sync
// and Immich reads): the caption is dc:description, else Caption-Abstract, else ImageDescription, else
// UserComment; keywords are the XMP ones plus IPTC Keywords. Camera firmware fills ImageDescription and
// UserComment with placeholders ("OLYMPUS DIGITAL CAMERA", blanks): those are not captions.
// [Note: legacy encodings] exifr hands IPTC strings over decoded byte-per-character; when those bytes are
// valid UTF-8 (ExifTool and digiKam write UTF-8 with CodedCharacterSet ESC % G) they are decoded as UTF-8,
// otherwise kept as Latin-1. UserComment starts with an 8-byte charset code (ASCII, UNICODE, JIS or none);
// UNICODE is UTF-16 in the byte order of the TIFF block, which exifr does not report, so the order is the one
// that puts the zero bytes of ASCII-range text where they belong.
import { readFile, stat } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse as parseExif } from 'exifr'
import { resolveUnderRoot } from '../library/safe-path'
import { cleanKeywords, LIMITS } from './read-files'
import { xmpContent } from './read-sidecars'
import type { LibraryIndex } from './library-index'
import { emptyRead, issue, type SourceRead } from './types'

const PLACEHOLDERS = /^(olympus digital camera|sony dsc|digital camera|konica minolta digital camera|minolta digital camera|kodak digital still camera|samsung digital camera|default|image|picture|untitled|dcim|exif_jpeg_\d*|ascii)$/i
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Whole-file reads (exifr misses PNG chunks when it reads in pieces) are bounded by this. */
const MAX_WHOLE_READ = 256 * 1024 * 1024

export function fromLatin1Bytes(s: string): string {
  if (!/[\u0080-\u00ff]/.test(s) || /[\u0100-\uffff]/.test(s)) return s
  try {
    return utf8.decode(Buffer.from(s, 'latin1'))
  } catch {
    return s
  }
}

export function decodeUserComment(bytes: Uint8Array): string {
  const code = Buffer.from(bytes.subarray(0, 8)).toString('latin1').replace(/\0+$/, '')
  const body = Buffer.from(bytes.subarray(8))
  let text: string
  if (code === 'UNICODE') {
    let evenZeros = 0
    let oddZeros = 0
    for (let k = 0; k + 1 < body.length; k += 2) {
      if (body[k] === 0) evenZeros++
      if (body[k + 1] === 0) oddZeros++
    }
    const le = oddZeros >= evenZeros
    const even = body.subarray(0, body.length - (body.length % 2))
    text = le ? even.toString('utf16le') : Buffer.from(even).swap16().toString('utf16le')
  } else if (code === 'JIS') {
    return ''
  } else {
    text = fromLatin1Bytes(body.toString('latin1'))
  }
  return text.replace(/\0/g, '').trim()
}

function cleanCaption(s: unknown): string | null {
  if (typeof s !== 'string') return null
  const t = s.replace(/\0/g, '').replace(/\s+/g, ' ').trim()
  return t && !PLACEHOLDERS.test(t) ? t : null
}

export interface EmbeddedMeta {
  caption: string | null
  from: 'xmp' | 'iptc' | 'exif' | null
  keywords: string[]
  /** The XMP block was present but unreadable (the IPTC/EXIF values are still used). */
  xmpError?: string
}

export async function readEmbedded(absPath: string): Promise<EmbeddedMeta> {
  const wholeFile = extname(absPath).toLowerCase() === '.png'
  let input: string | Buffer = absPath
  if (wholeFile) {
    const st = await stat(absPath)
    if (st.size > MAX_WHOLE_READ) throw new Error(`the PNG is larger than ${MAX_WHOLE_READ / 1024 / 1024} MB; its metadata was not read`)
    input = await readFile(absPath)
  }
  const out = (await parseExif(input, {
    tiff: true,
    ifd0: {},
    exif: true,
    userComment: true,
    gps: false,
    interop: false,
    ifd1: false,
    makerNote: false,
    xmp: { parse: false, multiSegment: false },
    iptc: true,
    icc: false,
    jfif: false,
    ihdr: false,
    mergeOutput: false,
    translateValues: false,
    reviveValues: false
  })) as Record<string, Record<string, unknown> | string | Uint8Array | undefined> | undefined
  const meta: EmbeddedMeta = { caption: null, from: null, keywords: [] }
  if (!out) return meta
  const rawXmp = typeof out.xmp === 'string' ? out.xmp : null
  if (rawXmp) {
    // A PNG iTXt chunk carries its keyword header before the packet.
    const at = rawXmp.indexOf('<')
    try {
      if (rawXmp.length > LIMITS.xmp) throw new Error(`larger than ${LIMITS.xmp / 1024 / 1024} MB`)
      const x = xmpContent(at > 0 ? rawXmp.slice(at) : rawXmp, 'embedded XMP')
      meta.caption = cleanCaption(x.caption)
      if (meta.caption) meta.from = 'xmp'
      meta.keywords.push(...x.keywords)
    } catch (err) {
      meta.xmpError = (err as Error).message
    }
  }
  const iptc = out.iptc as Record<string, unknown> | undefined
  if (iptc) {
    const caption = typeof iptc.Caption === 'string' ? cleanCaption(fromLatin1Bytes(iptc.Caption)) : null
    if (!meta.caption && caption) {
      meta.caption = caption
      meta.from = 'iptc'
    }
    const kw = iptc.Keywords
    meta.keywords.push(...(Array.isArray(kw) ? kw : kw !== undefined ? [kw] : []).filter((k): k is string => typeof k === 'string').map(fromLatin1Bytes))
  }
  if (!meta.caption) {
    const ifd0 = out.ifd0 as Record<string, unknown> | undefined
    const desc = cleanCaption(typeof ifd0?.ImageDescription === 'string' ? fromLatin1Bytes(ifd0.ImageDescription) : null)
    const uc = out.userComment instanceof Uint8Array ? cleanCaption(decodeUserComment(out.userComment)) : null
    meta.caption = desc ?? uc
    if (meta.caption) meta.from = 'exif'
  }
  return meta
}

/** Embedded metadata of the library images under `path` (a folder or one image). */
export async function readEmbeddedUnder(index: LibraryIndex, absPath: string, opts: { keywords: boolean }): Promise<SourceRead> {
  const out = emptyRead()
  const images = index.imagesUnder(absPath)
  if (images.length === 0) out.errors.push(issue(absPath, 'no library images here (embedded metadata is read from images already in the library)'))
  for (const img of images) {
    out.files++
    try {
      const abs = await resolveUnderRoot(index.rootPath(img.rootId), img.relPath)
      if (!abs) throw new Error('the image is missing or outside its library root')
      const m = await readEmbedded(abs)
      if (m.xmpError) out.errors.push(issue(img.relPath, `embedded XMP unreadable, IPTC/EXIF used: ${m.xmpError}`))
      const captions = m.caption && m.caption.length <= LIMITS.caption ? [m.caption] : []
      const keywords = opts.keywords ? cleanKeywords(m.keywords, (why) => out.errors.push(issue(img.relPath, why))) : []
      if (captions.length === 0 && keywords.length === 0) out.empty++
      else out.records.push({ file: img.relPath, ...(m.from ? { where: m.from } : {}), target: { kind: 'image', imageId: img.id }, captions, keywords })
    } catch (err) {
      out.errors.push(issue(img.relPath, err))
    }
  }
  return out
}
