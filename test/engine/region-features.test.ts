// pipeline/region-features.ts: one subregion step for captioning and for region similarity. On a pack whose
// concept temperature is not the mix-up's built-in 0.01, region similarity with mix-up must report exactly
// the heatmap and per-region similarities that captioning reports (the copy in analysis.ts used to drop
// `conceptTau`), and the temperature must visibly matter (control), on both routes.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captionFiles, Engine, regionSimilarityFor, type CaptionResult } from '../../src/main/engine/worker'
import { writeFakePack } from './helpers/fake-pack'
import { shapeImage } from './helpers/images'

let dir: string
let engine: Engine
let file: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'region-features-'))
  writeFakePack(join(dir, 'pack'), { defaults: { conceptTau: 0.3, conceptTopK: 3 } })
  engine = await Engine.open(join(dir, 'pack'), { providers: ['cpu'], intraOpThreads: 1 })
  file = join(dir, 'scene.png')
  await shapeImage(file, { shape: 'square', fill: '#d22', bg: [40, 60, 200] })
})

afterAll(async () => {
  await engine?.close()
})

const ok = (r: unknown): CaptionResult => {
  if (r && typeof r === 'object' && 'error' in r) throw new Error(`unexpected failure: ${JSON.stringify(r)}`)
  return r as CaptionResult
}

const weights = (h: { weights: number[] }) => h.weights

describe('region features', () => {
  for (const mode of ['patch', 'crops'] as const) {
    it(`${mode}: region similarity with mix-up reports the captioning heatmap, under the pack's conceptTau`, async () => {
      const cap = ok((await captionFiles(engine, [{ file }], { regions: mode, mixup: true, seed: 1 }))[0])
      expect(cap.options.conceptTau).toBe(0.3)
      expect(cap.regions).not.toBeNull()
      const rs = await regionSimilarityFor(engine, file, [cap.caption], mode, { mixup: true })
      expect(rs.heatmap.kind).toBe(mode)
      const a = weights(rs.heatmap)
      const b = weights(cap.regions!)
      expect(a).toHaveLength(b.length)
      a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 6))
      rs.captions[0]!.regions.forEach((x, i) => expect(x).toBeCloseTo(cap.regions!.similarity[i]!, 5))
      // Control: the mix-up temperature changes these numbers, so the equality above is not vacuous.
      const other = ok((await captionFiles(engine, [{ file }], { regions: mode, mixup: true, seed: 1, conceptTau: 0.01 }))[0])
      expect(other.regions!.similarity.some((x, i) => Math.abs(x - cap.regions!.similarity[i]!) > 1e-4)).toBe(true)
    })
  }
})
