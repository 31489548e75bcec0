// Engine worker (plain Node; sharp, and sharp-phash 2.2.0 for the hash itself: a 32×32 greyscale DCT, 64
// low-frequency bits against their mean). Perceptual hashes for the near-duplicate confirmation ([Note:
// near-duplicate groups]); the host caches them by content hash. Here, not in the host: sharp-phash's DCT is
// plain JavaScript, ~60 ms per hash on this project's machine, which would stall the host's event loop.
// [Note: crop windows] A pHash of the whole picture survives resizing, re-encoding and recolouring (0–3 bits
// of 64 on the generated set) but not a crop: 8% off two edges moved it 10–28 bits, while two different
// generated scenes were 14 or more apart. So each image also gets hashes of five windows covering 90% of it
// (the four corners and the centre); a cropped copy matches the window its crop is nearest to. The image is
// decoded once (greyscale, EXIF-rotated, resampled to 256×256, so windows are in relative coordinates).
import sharp from 'sharp'
import phash from 'sharp-phash'
import { StudioError, type ErrorEnvelope } from '@shared/errors'

/** sharp-phash's 64-character 0/1 string → 16 hex digits. */
export function bitsToHex(bits: string): string {
  if (!/^[01]{64}$/.test(bits)) throw new Error(`not a 64-bit hash: ${bits.slice(0, 80)}`)
  let out = ''
  for (let i = 0; i < 64; i += 4) out += parseInt(bits.slice(i, i + 4), 2).toString(16)
  return out
}

const SIDE = 256
const WINDOW = 0.9
const WINDOWS: [number, number][] = [[0, 0], [0.1, 0], [0, 0.1], [0.1, 0.1], [0.05, 0.05]]

async function rawHash(data: Buffer, width: number, height: number): Promise<string> {
  return bitsToHex(await phash(data, { raw: { width, height, channels: 1 } }))
}

/** The whole image's hash, then the five windows' (16 hex digits each). */
export async function phashSet(file: string, limitInputPixels = 268_402_689): Promise<string> {
  const grey = await sharp(file, { limitInputPixels }).rotate().greyscale().resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer()
  let out = await rawHash(grey, SIDE, SIDE)
  const w = Math.round(SIDE * WINDOW)
  for (const [ox, oy] of WINDOWS) {
    const x0 = Math.round(SIDE * ox)
    const y0 = Math.round(SIDE * oy)
    const win = Buffer.alloc(w * w)
    for (let y = 0; y < w; y++) grey.copy(win, y * w, (y0 + y) * SIDE + x0, (y0 + y) * SIDE + x0 + w)
    out += await rawHash(win, w, w)
  }
  return out
}

/** Hash sets of several files, one answer or error per file in order (the engine method). */
export async function perceptualHashes(files: readonly string[], limitInputPixels: number | undefined, signal: AbortSignal): Promise<({ file: string; hash: string } | { file: string; error: ErrorEnvelope })[]> {
  const out: ({ file: string; hash: string } | { file: string; error: ErrorEnvelope })[] = []
  for (const file of files) {
    if (signal.aborted) throw new StudioError('cancelled', 'perceptual hashing cancelled')
    try {
      out.push({ file, hash: await phashSet(file, limitInputPixels) })
    } catch (err) {
      out.push({ file, error: new StudioError('decode_error', `${file}: ${(err as Error).message}`).toEnvelope() })
    }
  }
  return out
}
