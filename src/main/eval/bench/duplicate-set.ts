// CLI / tests (plain Node, sharp). A generated library with known near-duplicates: seeded procedural scenes
// (a gradient and a few shapes) and, for some of them, copies that are resized, re-encoded as low-quality
// JPEG, cropped by at most 10% or slightly recoloured — the four kinds issue 14 names. The truth is the
// groups {original, its copies}; every other pair is a non-duplicate. Used by the near-duplicate integration
// test and `bench --only search` (precision/recall).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { mulberry32 } from '../../engine/math/rng'

export const VARIANTS = ['resized', 'jpeg', 'cropped', 'recoloured'] as const
export type Variant = (typeof VARIANTS)[number]

export interface DuplicateSet {
  root: string
  /** Relative paths of every file. */
  files: string[]
  /** Known groups as relative paths (original first). */
  groups: string[][]
}

function scene(seed: number, w: number, h: number): Buffer {
  const rnd = mulberry32(seed)
  const hue = () => Math.floor(rnd() * 360)
  const col = () => `hsl(${hue()},${40 + Math.floor(rnd() * 50)}%,${30 + Math.floor(rnd() * 40)}%)`
  let shapes = ''
  for (let i = 0; i < 3 + Math.floor(rnd() * 5); i++) {
    const x = rnd() * w
    const y = rnd() * h
    const s = 20 + rnd() * (w / 3)
    const kind = Math.floor(rnd() * 3)
    if (kind === 0) shapes += `<circle cx="${x}" cy="${y}" r="${s / 2}" fill="${col()}"/>`
    else if (kind === 1) shapes += `<rect x="${x - s / 2}" y="${y - s / 3}" width="${s}" height="${(s * 2) / 3}" fill="${col()}" transform="rotate(${Math.floor(rnd() * 90)} ${x} ${y})"/>`
    else shapes += `<polygon points="${x},${y - s / 2} ${x + s / 2},${y + s / 2} ${x - s / 2},${y + s / 2}" fill="${col()}"/>`
  }
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><linearGradient id="g" x1="0" y1="0" x2="${rnd()}" y2="1">` +
      `<stop offset="0" stop-color="${col()}"/><stop offset="1" stop-color="${col()}"/></linearGradient></defs>` +
      `<rect width="100%" height="100%" fill="url(#g)"/>${shapes}</svg>`
  )
}

async function variant(png: Buffer, kind: Variant, w: number, h: number, out: string): Promise<void> {
  const img = sharp(png)
  if (kind === 'resized') await img.resize(Math.round(w * 0.6)).png().toFile(out)
  else if (kind === 'jpeg') await img.jpeg({ quality: 45 }).toFile(out)
  else if (kind === 'cropped') {
    // 8% off the left and top edges (≤ 10% of each dimension)
    const dx = Math.round(w * 0.08)
    const dy = Math.round(h * 0.08)
    await img.extract({ left: dx, top: dy, width: w - dx, height: h - dy }).png().toFile(out)
  } else await img.modulate({ brightness: 1.08, saturation: 0.85, hue: 10 }).png().toFile(out)
}

/**
 * `originals` scenes; the first `withCopies` of them get one copy of every variant kind (or of `kinds`).
 * Files: `orig/NNNN.png` and `copies/NNNN-<kind>.(png|jpg)`.
 */
export async function makeDuplicateSet(root: string, originals: number, withCopies: number, opts: { seed?: number; width?: number; height?: number; kinds?: readonly Variant[] } = {}): Promise<DuplicateSet> {
  const w = opts.width ?? 320
  const h = opts.height ?? 240
  const kinds = opts.kinds ?? VARIANTS
  mkdirSync(join(root, 'orig'), { recursive: true })
  mkdirSync(join(root, 'copies'), { recursive: true })
  const files: string[] = []
  const groups: string[][] = []
  for (let i = 0; i < originals; i++) {
    const name = String(i).padStart(4, '0')
    const png = await sharp(scene((opts.seed ?? 14) * 100_003 + i, w, h)).png().toBuffer()
    const rel = `orig/${name}.png`
    await sharp(png).toFile(join(root, rel))
    files.push(rel)
    if (i >= withCopies) continue
    const group = [rel]
    for (const k of kinds) {
      const r = `copies/${name}-${k}.${k === 'jpeg' ? 'jpg' : 'png'}`
      await variant(png, k, w, h, join(root, r))
      files.push(r)
      group.push(r)
    }
    groups.push(group)
  }
  return { root, files, groups }
}
