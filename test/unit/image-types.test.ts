// The one image-extension list (src/main/library/image-types.ts): every listed type really decodes with
// the sharp the studio ships, the types left out really do not, and the library walker and the CLI's folder
// expansion pick exactly the same files.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { expandInputs } from '../../src/main/cli/cli-support'
import { IMAGE_CONTENT_TYPES, IMAGE_EXTENSIONS, isImageFile } from '../../src/main/library/image-types'
import { probeImage } from '../../src/main/library/probe'
import { Thumbnails } from '../../src/main/library/thumbnails'
import { walkImages } from '../../src/main/library/walk'
import { tempDir } from '../fixtures/images'

/** sharp's encoder for the format behind each listed extension. */
function encode(ext: string): Promise<Buffer> {
  const img = sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 200, g: 40, b: 40 } } })
  const formats: Record<string, 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif'> = { '.jpg': 'jpeg', '.jpeg': 'jpeg', '.png': 'png', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff', '.gif': 'gif', '.avif': 'avif' }
  const format = formats[ext]
  if (!format) throw new Error(`no encoder listed for ${ext}`)
  return img.toFormat(format).toBuffer()
}

/** A valid 2×2, 24-bit uncompressed Windows bitmap (14-byte file header, 40-byte info header, padded rows). */
function bmp2x2(): Buffer {
  const rowBytes = 8
  const b = Buffer.alloc(54 + rowBytes * 2)
  b.write('BM', 0, 'ascii')
  b.writeUInt32LE(b.length, 2)
  b.writeUInt32LE(54, 10)
  b.writeUInt32LE(40, 14)
  b.writeInt32LE(2, 18)
  b.writeInt32LE(2, 22)
  b.writeUInt16LE(1, 26)
  b.writeUInt16LE(24, 28)
  b.writeUInt32LE(rowBytes * 2, 34)
  b.fill(0x80, 54)
  return b
}

describe('image types', () => {
  const dir = tempDir('image-types')

  it('every listed extension is one sharp reads, and a real file of it decodes fully', async () => {
    const sharpSuffixes = new Set(Object.values(sharp.format).flatMap((f) => (f.input.file ? (f.input.fileSuffix ?? []) : [])))
    const thumbs = new Thumbnails(join(dir, 'thumbs'))
    for (const ext of IMAGE_EXTENSIONS) {
      expect(sharpSuffixes, ext).toContain(ext)
      const file = join(dir, `sample${ext}`)
      writeFileSync(file, await encode(ext))
      const facts = await probeImage(file)
      expect(facts, ext).toMatchObject({ width: 24, height: 16, error: null })
      const thumb = await thumbs.ensure(`${ext.slice(1)}0000`, file)
      expect((await sharp(thumb).metadata()).format).toBe('webp')
    }
  })

  it('HEIC and BMP are not listed because this sharp cannot decode them', async () => {
    const sharpSuffixes = new Set(Object.values(sharp.format).flatMap((f) => f.input.fileSuffix ?? []))
    expect(sharpSuffixes.has('.heic')).toBe(false)
    const bmp = join(dir, 'tiny.bmp')
    writeFileSync(bmp, bmp2x2())
    expect((await probeImage(bmp)).error).toMatch(/cannot read image/)
    expect(isImageFile('x.heic')).toBe(false)
    expect(isImageFile('x.bmp')).toBe(false)
  })

  it('matches extensions in any case and serves each with an image content type', () => {
    expect(isImageFile('/a/B.JPG')).toBe(true)
    expect(isImageFile('photo.Tiff')).toBe(true)
    expect(isImageFile('notes.txt')).toBe(false)
    expect(isImageFile('jpg')).toBe(false)
    for (const ext of IMAGE_EXTENSIONS) expect(IMAGE_CONTENT_TYPES[ext]).toMatch(/^image\//)
  })

  it('the library walker and the CLI folder expansion pick the same files', async () => {
    const root = tempDir('image-types-walk')
    const names = [...IMAGE_EXTENSIONS].map((e, i) => `f${i}${i % 2 ? e.toUpperCase() : e}`).concat(['x.heic', 'y.bmp', 'z.txt'])
    for (const n of names) writeFileSync(join(root, n), 'x')
    const walked: string[] = []
    for await (const e of walkImages(root)) walked.push(e.relPath)
    const expanded = (await expandInputs([root])).map((p) => p.slice(root.length + 1))
    expect(walked.sort()).toEqual(expanded.sort())
    expect(walked).toHaveLength(IMAGE_EXTENSIONS.size)
    expect(walked.some((n) => /heic|bmp|txt/.test(n))).toBe(false)
  })
})
