// Engine worker (plain Node) — also callable in-process. The subregion step of one encoded image, written
// once for captioning (caption.ts) and for region similarity (analysis.ts): optional PCM-Net mix-up of the
// region features with the salient concepts (concepts.ts, temperature `conceptTau`), then MacCap
// aggregation over patches or crops (regions.ts, [Note: subregion aggregation]). The heatmap the image view
// shows while suggesting and the one it shows for stored candidates therefore come from the same code.
import { StudioError } from '@shared/errors'
import { row, type Vec } from '../math/linalg'
import type { Engine } from '../worker/engine'
import type { ImageEncoding } from '../worker/encoders'
import type { Preprocessed } from '../worker/preprocess'
import { mixupRegions, type SalientConcept } from './concepts'
import { aggregateCrops, aggregatePatches, cropBoxes, type Aggregated } from './regions'

export interface RegionSettings {
  regions: 'patch' | 'crops'
  /** Patch route: k of MacCap's top-k by CLS attention. */
  topK: number
  /** Fusion weight w in normalize(g + w·s). */
  patchWeight: number
  /** Mix the salient concepts into the region features first (needs the pack's concept bank). */
  mixup: boolean
  /** Softmax temperature of the mix-up (the same τ that picks the salient concepts). */
  conceptTau: number
}

/** Region features and heatmap of one image; `pre` must hold the crops when `regions` is 'crops'. */
export async function aggregateRegions(engine: Engine, pre: Preprocessed, enc: ImageEncoding, s: RegionSettings, concepts: readonly SalientConcept[]): Promise<Aggregated> {
  const bank = engine.pack.concepts
  const conceptVecs = s.mixup && bank ? concepts.map((c) => row(bank.data, c.index, engine.dim)) : []
  const mix = (f: Vec[]) => (conceptVecs.length ? mixupRegions(f, conceptVecs, { tau: s.conceptTau }).features : f)
  if (s.regions === 'patch') {
    const tokens = enc.tokens
    const grid = engine.pack.json.models.image.patchGrid
    if (!tokens || !grid) throw new StudioError('unsupported', `pack ${engine.pack.json.id}: regions "patch" needs token_embeds and patchGrid`)
    const mixed = [tokens[0]!, ...mix(tokens.slice(1))]
    return aggregatePatches({ global: enc.embed, tokens: mixed, attention: enc.attention ?? null, grid }, { topK: s.topK, weight: s.patchWeight })
  }
  const crops = (await engine.encodePixels(pre.crops ?? [], false)).map((c) => c.embed)
  return aggregateCrops(enc.embed, mix(crops), cropBoxes(), { weight: s.patchWeight })
}
