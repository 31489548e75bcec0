// Main process / serve / CLI (plain Node). "Learn from my captions": refit the ReCap realignment from the
// library's accepted (image, caption) pairs and measure it on a held-out slice of those same pairs.
// [Note: refit measurement] Pairs are split deterministically by a hash of the image id (held-out share
// `holdout`, at least one pair on each side). Images and captions are embedded in the engine worker; the
// closed-form fit (d×d, milliseconds) and the scoring run here. "Before" uses the realignment in force
// until now: this library's stored matrix, else the pack's own, else none (aCLIP-S = CLIP-S).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RefitReport } from '@shared/contract/analysis'
import { StudioError } from '@shared/errors'
import type { EngineCaller } from '../engine/client'
import { applyRealignment, fitRealignment, type AlignMethod, type Realignment } from '../engine/math/realign'
import { clipS } from '../engine/math/scoring'
import { readPackJson } from '../engine/packs/pack'
import { dot, normalize } from '../engine/math/linalg'

export interface Pair {
  imageId: number
  file: string
  caption: string
}

export function isHeldOut(imageId: number, share: number): boolean {
  const h = Math.imul(imageId ^ 0x9e3779b9, 2654435761) >>> 0
  return h / 2 ** 32 < share
}

export function splitPairs<T extends { imageId: number }>(pairs: readonly T[], share: number): { train: T[]; test: T[] } {
  const train: T[] = []
  const test: T[] = []
  for (const p of pairs) (isHeldOut(p.imageId, share) ? test : train).push(p)
  if (test.length === 0 && train.length > 1) test.push(train.pop()!)
  if (train.length === 0 && test.length > 1) train.push(test.pop()!)
  return { train, test }
}

export async function packMatrix(packDir: string, method: AlignMethod): Promise<Realignment | null> {
  const json = await readPackJson(packDir)
  const spec = method === 'ridge' ? json.arrays?.realignRidge : json.arrays?.realignProcrustes
  if (!spec) return null
  const buf = await readFile(join(packDir, spec.file))
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
  return { method, dim: spec.shape[0]!, matrix: Array.from(data), pairs: 0, fitMs: 0 }
}

export function meanAclipS(images: readonly Float32Array[], texts: readonly Float32Array[], r: Realignment | null): number {
  if (images.length === 0) return 0
  let sum = 0
  images.forEach((x, i) => {
    const a = r ? applyRealignment(normalize(x), r.matrix, r.dim) : normalize(x)
    sum += clipS(dot(a, normalize(texts[i]!)))
  })
  return sum / images.length
}

export async function refit(
  engine: EngineCaller,
  packDir: string,
  packId: string,
  pairs: readonly Pair[],
  method: AlignMethod,
  holdout: number,
  previous: { realignment: Realignment | null; source: RefitReport['beforeSource'] }
): Promise<{ realignment: Realignment; report: RefitReport }> {
  if (pairs.length < 4) throw new StudioError('invalid_input', `refitting needs at least 4 accepted captions; this library has ${pairs.length}`)
  const embedded = await engine.call('embedImages', { packDir, files: pairs.map((p) => p.file) })
  const ok = pairs.filter((_, i) => !('error' in embedded[i]!))
  const images = new Map<number, Float32Array>()
  embedded.forEach((e, i) => {
    if (!('error' in e)) images.set(pairs[i]!.imageId, e.embedding)
  })
  const texts = await engine.call('embedTexts', { packDir, texts: ok.map((p) => p.caption) })
  const textOf = new Map(ok.map((p, i) => [p.imageId, texts[i]!]))
  const { train, test } = splitPairs(ok, holdout)
  if (train.length < 2 || test.length < 1) throw new StudioError('invalid_input', 'not enough readable pairs to fit and hold out')
  const realignment = fitRealignment(
    train.map((p) => ({ image: normalize(images.get(p.imageId)!), text: normalize(textOf.get(p.imageId)!) })),
    method
  )
  const testImages = test.map((p) => images.get(p.imageId)!)
  const testTexts = test.map((p) => textOf.get(p.imageId)!)
  const report: RefitReport = {
    packId,
    method,
    pairs: ok.length,
    train: train.length,
    heldOut: test.length,
    before: meanAclipS(testImages, testTexts, previous.realignment),
    after: meanAclipS(testImages, testTexts, realignment),
    beforeSource: previous.source,
    fitMs: realignment.fitMs,
    fittedAt: new Date().toISOString()
  }
  return { realignment, report }
}
