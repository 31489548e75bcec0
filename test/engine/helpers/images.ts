// Tests only (plain Node, sharp). Test images: solid colours, shapes drawn as SVG on a ShapesWorld-style
// background, and deliberately bad files.
import { writeFileSync } from 'node:fs'
import sharp from 'sharp'

export async function solid(path: string, rgb: [number, number, number], size = 32, format: 'png' | 'jpeg' = 'png'): Promise<void> {
  const img = sharp({ create: { width: size, height: size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
  await (format === 'png' ? img.png() : img.jpeg()).toFile(path)
}

/** One shape on a flat background (ShapesWorld colours), rendered at `size` px. */
export async function shapeImage(path: string, opts: { shape: 'square' | 'circle'; fill: string; bg?: [number, number, number]; size?: number; d?: number }): Promise<void> {
  const L = opts.size ?? 64
  const s = L / 64
  const r = ((opts.d ?? 24) / 2) * s
  const c = L / 2
  const body =
    opts.shape === 'circle'
      ? `<circle cx="${c}" cy="${c}" r="${r}" fill="${opts.fill}"/>`
      : `<rect x="${c - 0.85 * r}" y="${c - 0.85 * r}" width="${1.7 * r}" height="${1.7 * r}" fill="${opts.fill}"/>`
  const [R, G, B] = opts.bg ?? [128, 128, 128]
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${L * 2}" height="${L * 2}" viewBox="0 0 ${L} ${L}"><rect width="${L}" height="${L}" fill="rgb(${R},${G},${B})"/>${body}</svg>`
  await sharp(Buffer.from(svg)).resize(L, L, { kernel: 'linear' }).png().toFile(path)
}

export function notAnImage(path: string): void {
  writeFileSync(path, 'this is plain text, not a PNG\n')
}

export async function truncated(path: string): Promise<void> {
  const buf = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png({ compressionLevel: 0 }).toBuffer()
  writeFileSync(path, buf.subarray(0, Math.floor(buf.length / 2)))
}
