// Engine worker (plain Node, sharp). Image → model input exactly as pack.json `preprocess` states:
// EXIF orientation applied (`rotate()`), alpha flattened onto white, sRGB, short side resized to `size` with
// the pack's kernel and centre-cropped (sharp's `fit: cover`, `position: centre`), then (v/255 − mean)/std
// per channel in NCHW float32.
// [Note: bad inputs] Every failure becomes a StudioError naming the file: missing → not_found; not a regular
// file (a FIFO swapped in) or not an image,
// truncated or corrupt → decode_error; above `limitInputPixels` → unsupported with the limit. sharp's default
// failOn ('warning') is kept so a truncated file is refused instead of captioned half-grey. A 1×1 image is
// valid (upscaled). Callers batch with `preprocessMany`, which never throws: one bad file cannot stop a batch.
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import sharp from 'sharp'
import { StudioError } from '@shared/errors'
import type { PackJson } from '../packs/pack-schema'
import type { Box } from '../pipeline/regions'

export type PreprocessSpec = PackJson['preprocess']

/** 100 megapixels: a 50 MP photo passes, a decompression bomb does not. */
export const DEFAULT_PIXEL_LIMIT = 100_000_000
const FLATTEN = { r: 255, g: 255, b: 255 }

export function configureSharp(threads: number): void {
  sharp.concurrency(Math.max(1, threads))
  sharp.cache(false)
}

export function describeImageError(file: string, err: unknown, limit: number): StudioError {
  if (err instanceof StudioError) return err
  const msg = (err as Error)?.message ?? String(err)
  const name = basename(file)
  if (/missing|ENOENT|no such file/i.test(msg)) return new StudioError('not_found', `${name}: file not found`)
  if (/unsupported image format/i.test(msg)) return new StudioError('decode_error', `${name}: not an image (unsupported or unrecognised format)`)
  if (/pixel limit/i.test(msg)) return new StudioError('unsupported', `${name}: image too large (over ${Math.round(limit / 1e6)} megapixels)`)
  if (/premature|truncat|corrupt|end of|unexpected end|invalid|bad|VipsJpeg|pngload|read error/i.test(msg)) {
    return new StudioError('decode_error', `${name}: truncated or corrupt image (${msg.split('\n')[0]!.slice(0, 160)})`)
  }
  return new StudioError('decode_error', `${name}: cannot decode image (${msg.split('\n')[0]!.slice(0, 160)})`)
}

/** [Note: normalisation table] (v/255 − mean)/std for the 256 byte values of each channel, computed with the
 *  same double-precision expression the per-pixel loop used and stored as float32, so the model input is
 *  bit-identical while the hot loop is one table read per value (no divisions). Memoised per spec. */
const tables = new WeakMap<PreprocessSpec, Float32Array>()
function normTable(spec: PreprocessSpec): Float32Array {
  let t = tables.get(spec)
  if (!t) {
    t = new Float32Array(3 * 256)
    for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) t[c * 256 + v] = (v / 255 - spec.mean[c]!) / spec.std[c]!
    tables.set(spec, t)
  }
  return t
}

function toNchw(raw: Buffer, size: number, spec: PreprocessSpec): Float32Array {
  const plane = size * size
  const dst = new Float32Array(3 * plane)
  const lut = normTable(spec)
  for (let c = 0; c < 3; c++) {
    const base = c * plane
    const off = c * 256
    for (let i = 0, j = c; i < plane; i++, j += 3) dst[base + i] = lut[off + raw[j]!]!
  }
  return dst
}

// [Note: shrink-on-load] sharp's resize already decodes JPEG and WebP at 1/2, 1/4 or 1/8 scale when the
// target is at most half the source (fastShrinkOnLoad, on by default), before the pack's kernel does the
// rest; PNG, TIFF, GIF and AVIF have no reduced decode. Nothing to add here: the option stays at its default.
async function toModelInput(img: ReturnType<typeof sharp>, spec: PreprocessSpec): Promise<Float32Array> {
  const { data, info } = await img
    .resize({ width: spec.size, height: spec.size, fit: 'cover', position: 'centre', kernel: spec.kernel })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  if (info.channels !== 3 || info.width !== spec.size || info.height !== spec.size) {
    throw new StudioError('internal', `preprocess produced ${info.width}×${info.height}×${info.channels}, expected ${spec.size}×${spec.size}×3`)
  }
  return toNchw(data, spec.size, spec)
}

export interface Preprocessed {
  file: string
  pixels: Float32Array
  /** Oriented size of the source image. */
  width: number
  height: number
  crops?: Float32Array[]
}

export interface PreprocessOptions {
  limitInputPixels?: number
  /** Crop boxes (fractions of the oriented image) to prepare as extra model inputs. */
  crops?: readonly Box[]
}

export async function preprocessFile(file: string, spec: PreprocessSpec, opts: PreprocessOptions = {}): Promise<Preprocessed> {
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT
  const open = () => sharp(file, { limitInputPixels: limit, sequentialRead: true }).rotate().flatten({ background: FLATTEN })
  try {
    // A FIFO where the image was would block sharp (and this worker) forever: decode regular files only.
    if (!(await stat(file)).isFile()) throw new StudioError('decode_error', `${basename(file)}: not a regular file (replaced since it was scanned?)`)
    // One sharp instance: its header (oriented dimensions, swapped for EXIF orientations 5–8), then the pipeline.
    const first = sharp(file, { limitInputPixels: limit, sequentialRead: true })
    const meta = await first.metadata()
    const pixels = await toModelInput(first.rotate().flatten({ background: FLATTEN }), spec)
    const swap = (meta.orientation ?? 1) >= 5
    const width = (swap ? meta.height : meta.width) ?? 0
    const height = (swap ? meta.width : meta.height) ?? 0
    const result: Preprocessed = { file, pixels, width, height }
    if (opts.crops && opts.crops.length > 0) {
      // Decode once to a working copy whose short side is 3·size (enough for a 1/3 crop at full model
      // resolution), then cut every crop from it.
      const work = Math.min(3 * spec.size, Math.min(width, height))
      const { data, info } = await open()
        .resize({ width: width <= height ? work : undefined, height: height < width ? work : undefined, kernel: spec.kernel })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true })
      const W = info.width
      const H = info.height
      result.crops = []
      for (const b of opts.crops) {
        const left = Math.min(W - 1, Math.floor(b.x * W))
        const top = Math.min(H - 1, Math.floor(b.y * H))
        const cw = Math.max(1, Math.min(W - left, Math.round(b.w * W)))
        const ch = Math.max(1, Math.min(H - top, Math.round(b.h * H)))
        const crop = sharp(data, { raw: { width: W, height: H, channels: 3 } }).extract({ left, top, width: cw, height: ch })
        result.crops.push(await toModelInput(crop, spec))
      }
    }
    return result
  } catch (err) {
    throw describeImageError(file, err, limit)
  }
}

export type PreprocessOutcome = { ok: true; value: Preprocessed } | { ok: false; file: string; error: StudioError }

/** Preprocess many files with bounded concurrency; per-file failures are returned, never thrown. */
export async function preprocessMany(files: readonly string[], spec: PreprocessSpec, opts: PreprocessOptions & { concurrency?: number; signal?: AbortSignal } = {}): Promise<PreprocessOutcome[]> {
  const out: PreprocessOutcome[] = new Array(files.length)
  let next = 0
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, files.length)) }, async () => {
    while (next < files.length) {
      if (opts.signal?.aborted) throw new StudioError('cancelled', 'cancelled')
      const i = next++
      const file = files[i]!
      try {
        out[i] = { ok: true, value: await preprocessFile(file, spec, opts) }
      } catch (err) {
        out[i] = { ok: false, file, error: describeImageError(file, err, opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT) }
      }
    }
  })
  await Promise.all(workers)
  return out
}
