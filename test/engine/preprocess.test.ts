// Preprocessing with sharp: EXIF orientation, alpha, exact normalisation, crops, and the limits on huge images.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { preprocessFile, preprocessMany, type PreprocessSpec } from '../../src/main/engine/worker/preprocess'
import { cropBoxes } from '../../src/main/engine/pipeline/regions'

const spec: PreprocessSpec = { size: 16, resize: 'shortest-edge', kernel: 'nearest', mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 0.5] }
let dir: string

const px = (a: Float32Array, c: number, y: number, x: number) => a[c * 256 + y * 16 + x]!
// Inverse of (v/255 − mean)/std for channel c.
const raw = (v: number, c: number) => Math.round((v * spec.std[c]! + spec.mean[c]!) * 255)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'engine-pre-'))
})

describe('preprocess', () => {
  it('normalises per channel in NCHW order', async () => {
    const f = join(dir, 'solid.png')
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 255, g: 0, b: 128 } } }).png().toFile(f)
    const p = await preprocessFile(f, spec)
    expect(p.pixels).toHaveLength(3 * 16 * 16)
    expect(px(p.pixels, 0, 3, 3)).toBeCloseTo((1 - 0.5) / 0.25, 5)
    expect(px(p.pixels, 1, 3, 3)).toBeCloseTo((0 - 0.5) / 0.5, 5)
    expect(px(p.pixels, 2, 3, 3)).toBeCloseTo((128 / 255 - 0.5) / 0.5, 5)
  })

  it('normalises every byte value to exactly float32((v/255 − mean)/std)', async () => {
    // 16×16, so no resampling: pixel i has value i in red, 255 − i in green, (i·7) mod 256 in blue
    const data = Buffer.alloc(16 * 16 * 3)
    for (let i = 0; i < 256; i++) data.set([i, 255 - i, (i * 7) % 256], i * 3)
    const f = join(dir, 'ramp.png')
    await sharp(data, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(f)
    const p = await preprocessFile(f, spec)
    for (let i = 0; i < 256; i++) {
      const y = Math.floor(i / 16)
      const x = i % 16
      ;[i, 255 - i, (i * 7) % 256].forEach((v, c) => expect(px(p.pixels, c, y, x)).toBe(Math.fround((v / 255 - spec.mean[c]!) / spec.std[c]!)))
    }
  })

  it('applies EXIF orientation before the centre crop', async () => {
    // 32×16, left half red, right half blue, stored with orientation 6 (display rotated 90° clockwise):
    // displayed 16×32, red on top, blue at the bottom.
    const left = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer()
    const f = join(dir, 'rotated.jpg')
    await sharp({ create: { width: 32, height: 16, channels: 3, background: { r: 0, g: 0, b: 255 } } })
      .composite([{ input: left, left: 0, top: 0 }])
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toFile(f)
    const p = await preprocessFile(f, spec)
    expect([p.width, p.height]).toEqual([16, 32])
    // Centre crop of 16×32 keeps rows 8..23: the top rows are red, the bottom rows blue.
    expect(raw(px(p.pixels, 0, 1, 8), 0)).toBeGreaterThan(200)
    expect(raw(px(p.pixels, 2, 1, 8), 2)).toBeLessThan(60)
    expect(raw(px(p.pixels, 2, 14, 8), 2)).toBeGreaterThan(200)
    expect(raw(px(p.pixels, 0, 14, 8), 0)).toBeLessThan(60)
  })

  it('flattens transparency onto white', async () => {
    const f = join(dir, 'alpha.png')
    await sharp({ create: { width: 16, height: 16, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(f)
    const p = await preprocessFile(f, spec)
    for (const c of [0, 1, 2]) expect(raw(px(p.pixels, c, 8, 8), c)).toBe(255)
  })

  it('cuts crops from the oriented image', async () => {
    const f = join(dir, 'quad.png')
    const red = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer()
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 0, g: 0, b: 255 } } }).composite([{ input: red, left: 32, top: 0 }]).png().toFile(f)
    const p = await preprocessFile(f, spec, { crops: cropBoxes() })
    expect(p.crops).toHaveLength(14)
    // 2×2 grid, row 0 col 1 = top-right quadrant = red; row 1 col 0 = blue.
    expect(raw(px(p.crops![1]!, 0, 8, 8), 0)).toBe(255)
    expect(raw(px(p.crops![2]!, 2, 8, 8), 2)).toBe(255)
  })

  it('handles a 50-megapixel photo, and refuses it clearly above a lower pixel limit', async () => {
    const f = join(dir, 'huge 50MP.jpg')
    await sharp({ create: { width: 8660, height: 5774, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg({ quality: 80 }).toFile(f)
    const t0 = performance.now()
    const p = await preprocessFile(f, spec)
    const ms = performance.now() - t0
    expect([p.width, p.height]).toEqual([8660, 5774])
    expect(raw(px(p.pixels, 1, 8, 8), 1)).toBeGreaterThan(190)
    console.log(`50 MP JPEG preprocessed in ${ms.toFixed(0)} ms`)
    const [r] = await preprocessMany([f], spec, { limitInputPixels: 10_000_000 })
    expect(r!.ok).toBe(false)
    if (!r!.ok) expect(r!.error.message).toMatch(/huge 50MP\.jpg: image too large \(over 10 megapixels\)/)
  }, 60_000)
})
