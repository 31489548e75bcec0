// Main process (plain Node). Content hash and image facts for one file. Decoding is bounded by
// `limitInputPixels`, so a decompression bomb is an error, not a crash.
import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import sharp from 'sharp'

/** 100 megapixels: far above any camera (50 MP images still work), far below what exhausts memory. */
export const MAX_INPUT_PIXELS = 100_000_000

/** sha256 of a regular file. Opened without following a symlink and without blocking (a FIFO put in the
 *  file's place opens at once), then checked to be a regular file on the open descriptor, so what is hashed
 *  is what was checked: a FIFO or device swapped in after the walk is refused, never read. */
export async function hashFile(path: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0))
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new Error('not a regular file (replaced since the folder was read?)')
    const h = createHash('sha256')
    for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) h.update(chunk as Buffer)
    return h.digest('hex')
  } finally {
    await fh.close()
  }
}

export interface ImageFacts {
  width: number | null
  height: number | null
  orientation: number | null
  format: string | null
  error: string | null
}

/** Reads the header only (fast). Display width/height account for EXIF orientation 5–8 (rotated 90°). */
export async function probeImage(path: string): Promise<ImageFacts> {
  try {
    const meta = await sharp(path, { limitInputPixels: MAX_INPUT_PIXELS }).metadata()
    if (!meta.width || !meta.height) return { width: null, height: null, orientation: null, format: meta.format ?? null, error: 'no image dimensions' }
    const orientation = meta.orientation ?? null
    const swap = orientation !== null && orientation >= 5 && orientation <= 8
    if (meta.width * meta.height > MAX_INPUT_PIXELS) {
      return { width: meta.width, height: meta.height, orientation, format: meta.format ?? null, error: `image too large: ${meta.width}×${meta.height} exceeds ${MAX_INPUT_PIXELS / 1e6} megapixels` }
    }
    return { width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height, orientation, format: meta.format ?? null, error: null }
  } catch (err) {
    return { width: null, height: null, orientation: null, format: null, error: `cannot read image: ${(err as Error).message}` }
  }
}
