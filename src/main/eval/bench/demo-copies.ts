// CLI / tests (plain Node). Folders of demo images with distinct bytes: a pack's samples re-encoded by
// sharp, each copy with its own EXIF description, so every file has its own content hash (no library
// deduplication, no shared result keys) but the sample's pixels. Used by the fleet bench and tests.
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'

/** `count` PNGs cycling through `<packDir>/samples/*.png`; returns their paths in name order. */
export async function demoCopies(packDir: string, dir: string, count: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true })
  const samples = readdirSync(join(packDir, 'samples')).filter((f) => f.endsWith('.png')).sort()
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const file = join(dir, `img_${String(i).padStart(4, '0')}.png`)
    await sharp(join(packDir, 'samples', samples[i % samples.length]!)).withExif({ IFD0: { ImageDescription: `copy ${i} in ${dir}` } }).png().toFile(file)
    out.push(file)
  }
  return out
}
