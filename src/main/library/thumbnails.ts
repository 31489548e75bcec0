// Main process (plain Node). Thumbnails by sharp, EXIF orientation applied, cached on disk by content
// hash (so duplicates share one and a moved file keeps its thumbnail). A full decode happens here, so a
// file whose header reads but whose pixels are broken (truncated) is found and reported.
import { mkdir, readdir, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { MAX_INPUT_PIXELS } from './probe'

export const THUMB_SIZE = 256

/** libwebp settings of a thumbnail. */
export interface ThumbWebp {
  quality: number
  effort: number
}

// [Note: thumbnail effort] libwebp's effort 1 instead of the default 4: on 640×480 photos the whole
// thumbnail (decode, resize, encode) took 12.7 ms instead of 21.6–27.3 ms in one run on the reference
// machine, for 4.3 instead of 4.0 KiB per thumbnail at the same quality setting.
export const THUMB_WEBP: ThumbWebp = { quality: 82, effort: 1 }
// [Note: shrink-on-load] Checked by measurement (CPU ms per 640×480 generated JPEG, sharp.concurrency 1, one
// at a time, 200 files, loaded machine, one run): full decode 4.8; decode + resize to 320 or 321 wide 7.5 both
// (no DCT shrink at a factor of 2); to 160 wide 4.9 (shrunk on load); the whole thumbnail 11.1–12.9, with
// fastShrinkOnLoad off 13.2. So 640×480 → 256 is not shrunk on load (sharp keeps a factor of 2 beyond the
// shrink), and the resize and WebP encode are over half the cost. JPEG output was 9.1, a linear kernel 9.8–11.7:
// neither taken (format and quality of the cache unchanged); the numbers are within this machine's noise.

/** The routine when issue 14 was filed (libwebp's default effort 4): the import bench's previous path
 *  keeps it ([Note: import bench]). */
export const FILED_THUMB_WEBP: ThumbWebp = { quality: 82, effort: 4 }

export class Thumbnails {
  private readonly inflight = new Map<string, Promise<string>>()
  constructor(private readonly dir: string) {}

  pathFor(hash: string): string {
    return join(this.dir, hash.slice(0, 2), `${hash}.webp`)
  }

  async exists(hash: string): Promise<boolean> {
    try {
      await stat(this.pathFor(hash))
      return true
    } catch {
      return false
    }
  }

  /** Content hashes of every cached thumbnail: one listing per two-letter folder instead of a stat per
   *  image, so a rescan of an unchanged library learns in a few reads which thumbnails it need not make. */
  async existing(): Promise<Set<string>> {
    const out = new Set<string>()
    let dirs: string[]
    try {
      dirs = await readdir(this.dir)
    } catch {
      return out
    }
    for (const d of dirs) {
      if (d.length !== 2) continue
      const names = await readdir(join(this.dir, d)).catch(() => [] as string[])
      for (const n of names) if (n.endsWith('.webp')) out.add(n.slice(0, -5))
    }
    return out
  }

  /** Returns the cached thumbnail path, making it first if needed. Rejects when the image cannot be decoded. */
  ensure(hash: string, source: string, webp: ThumbWebp = THUMB_WEBP): Promise<string> {
    const pending = this.inflight.get(hash)
    if (pending) return pending
    const p = this.make(hash, source, webp).finally(() => this.inflight.delete(hash))
    this.inflight.set(hash, p)
    return p
  }

  private async make(hash: string, source: string, webp: ThumbWebp): Promise<string> {
    const out = this.pathFor(hash)
    if (await this.exists(hash)) return out
    // sharp would block forever on a FIFO put where the image was: only a regular file is decoded. (A swap
    // between this check and sharp's own open remains possible; the scan's hash refuses it on the descriptor.)
    if (!(await stat(source)).isFile()) throw new Error('not a regular file (replaced since it was scanned?)')
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true })
    const tmp = `${out}.${process.pid}.tmp`
    await sharp(source, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'warning' })
      .rotate()
      .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp(webp) // [Note: thumbnail effort]
      .toFile(tmp)
    await rename(tmp, out)
    return out
  }
}
