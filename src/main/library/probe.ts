// Main process (plain Node). Content hash and image facts for one file. Decoding is bounded by
// `limitInputPixels`, so a decompression bomb is an error, not a crash.
// [Note: one read] A file up to WHOLE_READ_MAX is read once, into memory, by the libuv threadpool: the hash
// is taken from that buffer (sha256 on the main thread: 0.13 ms for a 21 kB 640×480 JPEG, measured once on
// the loaded reference machine, so no worker thread is needed for it) and the
// header probe reads the same buffer (sharp, off the main thread), so the scan opens each file once instead of
// twice. Larger files are streamed (memory stays bounded with several files in flight) and probed by path.
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
  return (await readHashed(path, 0)).hash
}

/** Files up to this size are read whole for hashing and probing ([Note: one read]). */
export const WHOLE_READ_MAX = 8 * 1024 * 1024

export interface HashedFile {
  hash: string
  /** The file's bytes when it was read whole (at most `keepUpTo` bytes), else null. */
  data: Buffer | null
}

/** sha256 of a regular file (same refusals as hashFile), keeping the bytes when the file is at most `keepUpTo`. */
export async function readHashed(path: string, keepUpTo = WHOLE_READ_MAX): Promise<HashedFile> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0))
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new Error('not a regular file (replaced since the folder was read?)')
    const h = createHash('sha256')
    if (st.size <= keepUpTo) {
      const data = await fh.readFile()
      return { hash: h.update(data).digest('hex'), data }
    }
    for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) h.update(chunk as Buffer)
    return { hash: h.digest('hex'), data: null }
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
export async function probeImage(input: string | Buffer): Promise<ImageFacts> {
  try {
    const meta = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS }).metadata()
    if (!meta.width || !meta.height) return { width: null, height: null, orientation: null, format: meta.format ?? null, error: 'no image dimensions' }
    const orientation = meta.orientation ?? null
    const swap = orientation !== null && orientation >= 5 && orientation <= 8
    if (meta.width * meta.height > MAX_INPUT_PIXELS) {
      return { width: meta.width, height: meta.height, orientation, format: meta.format ?? null, error: `image too large: ${meta.width}×${meta.height} exceeds ${MAX_INPUT_PIXELS / 1e6} megapixels` }
    }
    return { width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height, orientation, format: meta.format ?? null, error: null }
  } catch (err) {
    // the same words whether the header was read from the file or from its bytes ([Note: one read])
    const why = (err as Error).message.replace(/^Input buffer/, 'Input file')
    return { width: null, height: null, orientation: null, format: null, error: `cannot read image: ${why}` }
  }
}
