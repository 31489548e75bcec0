// Engine worker / any Node process (pure). Caption options and their resolution against a pack's defaults.
// [Note: defaults] Every option falls back to pack.json `defaults` (the model kit picks them as the best
// configuration measured on val), then to the engine's own default listed in pack-schema.ts PackDefaults.
// The ranking score defaults to aCLIP-S when a realignment is on (CLIP-S when off); a pack may set
// `defaults.rankBy`: on a weak CLIP the realigned embeddings crowd around the mean caption and aCLIP-S then
// prefers generic captions (the quick demo pack: CIDEr-D 0.79 ranked by CLIP-S vs 0.56 by aCLIP-S on its
// 48 samples, same candidates), so this is a per-pack, measured choice.
// [Note: retrieval-only packs] A pack with `decoders: []` (e.g. CLIP + a COCO caption datastore) captions by
// retrieval alone: its defaults resolve to no noise samples, no clean decode, retrieval on, reranked by
// CLIP-S unless the caller or pack.json names another score; the pack's decoder defaults (schema defaults,
// noiseSamples 8 / cleanSample true) are ignored. A caller that explicitly asks for decoding (a decoder id,
// noiseSamples > 0, cleanSample true, memoryProjection) gets an `unsupported` error naming the option, not a
// silent fallback.
// [Note: memoryProjection order] fused (patch/crops) → realigned when alignPrefix → projected onto the
// caption memory → noise; the clean sample is the projected global embedding (DeCap's own input).
import { StudioError } from '@shared/errors'
import { hasDatastore, type PackJson } from '../packs/pack-schema'
import type { RankBy } from '../math/scoring'

export type RegionsMode = 'patch' | 'crops' | 'off'
export type AlignMode = 'procrustes' | 'ridge' | 'off'

export interface CaptionOptions {
  decoder?: string
  /** More decoders whose captions join the main decoder's before the rerank ([Note: decoders side by side]). */
  alsoDecoders?: string[]
  regions?: RegionsMode
  /** Patch route: k of MacCap's top-k by CLS attention. */
  topK?: number
  /** Fusion weight w in normalize(g + w·s). */
  patchWeight?: number
  noiseSamples?: number
  /** σ²; default: pack defaults, else the chosen decoder's training variance. */
  noiseVariance?: number
  /** Also decode the noise-free embedding as one candidate. */
  cleanSample?: boolean
  beam?: number
  maxLength?: number
  lengthPenalty?: number
  retrieval?: boolean
  retrievalK?: number
  align?: AlignMode
  /** Feed the realigned embedding (not only the retrieval query) to the decoder. */
  alignPrefix?: boolean
  /** DeCap: project every decoder input onto the caption memory before noise (memory.ts). */
  memoryProjection?: boolean
  rerank?: boolean
  rankBy?: RankBy
  mixup?: boolean
  concepts?: boolean
  conceptTau?: number
  conceptTopK?: number
  seed?: number
  /** Text prepended to every caption before CLIP scoring (real CLIP: "A photo depicts"). */
  clipPrefix?: string
}

export type ResolvedOptions = Required<Omit<CaptionOptions, 'rankBy'>> & { rankBy: RankBy }

export const DEFAULT_SEED = 42

function checkDecoderless(pack: PackJson, o: CaptionOptions): void {
  const asked = [
    o.decoder !== undefined ? `decoder "${o.decoder}"` : '',
    o.alsoDecoders?.length ? `alsoDecoders ${o.alsoDecoders.join(', ')}` : '',
    o.noiseSamples !== undefined && o.noiseSamples > 0 ? `noiseSamples ${o.noiseSamples}` : '',
    o.cleanSample === true ? 'cleanSample' : '',
    o.memoryProjection === true ? 'memoryProjection' : ''
  ].filter(Boolean)
  if (asked.length) throw new StudioError('unsupported', `pack ${pack.id} has no trained decoder and captions by retrieval only: ${asked.join(', ')} needs a decoder (leave it unset, or use noiseSamples 0 and cleanSample false)`)
}

export function resolveOptions(pack: PackJson, o: CaptionOptions = {}): ResolvedOptions {
  const decoderless = pack.decoders.length === 0
  if (decoderless) {
    checkDecoderless(pack, o)
    if (!hasDatastore(pack)) throw new StudioError('unsupported', `pack ${pack.id} has neither a decoder nor a caption datastore, so it cannot caption`)
    o = { noiseSamples: 0, cleanSample: false, retrieval: true, rankBy: pack.defaults.rankBy ?? 'clipS', ...o }
  }
  const d = pack.defaults
  const decoderId = o.decoder ?? pack.defaultDecoder ?? pack.decoders[0]?.id ?? ''
  const dec = pack.decoders.find((x) => x.id === decoderId)
  const align = o.align ?? d.align
  const r: ResolvedOptions = {
    decoder: decoderId,
    alsoDecoders: [...(o.alsoDecoders ?? d.alsoDecoders)],
    regions: o.regions ?? d.regions,
    topK: o.topK ?? d.topK,
    patchWeight: o.patchWeight ?? d.patchWeight,
    noiseSamples: o.noiseSamples ?? d.noiseSamples,
    noiseVariance: o.noiseVariance ?? d.noiseVariance ?? dec?.noiseVariance ?? 0,
    cleanSample: o.cleanSample ?? d.cleanSample,
    beam: o.beam ?? d.beam,
    maxLength: o.maxLength ?? d.maxLength,
    lengthPenalty: o.lengthPenalty ?? 0,
    retrieval: o.retrieval ?? d.retrieval,
    retrievalK: o.retrievalK ?? d.retrievalK,
    align,
    alignPrefix: o.alignPrefix ?? d.alignPrefix,
    memoryProjection: o.memoryProjection ?? d.memoryProjection,
    rerank: o.rerank ?? d.rerank,
    rankBy: o.rankBy ?? d.rankBy ?? (align === 'off' ? 'clipS' : 'aclipS'),
    mixup: o.mixup ?? d.mixup,
    concepts: o.concepts ?? true,
    conceptTau: o.conceptTau ?? d.conceptTau,
    conceptTopK: o.conceptTopK ?? d.conceptTopK,
    seed: (o.seed ?? DEFAULT_SEED) >>> 0,
    clipPrefix: o.clipPrefix ?? d.clipPrefix
  }
  if (!Number.isInteger(r.noiseSamples) || r.noiseSamples < 0 || r.noiseSamples > 64) throw new StudioError('invalid_input', 'noiseSamples must be an integer in 0..64')
  if (r.noiseSamples === 0 && !r.cleanSample && !r.retrieval) throw new StudioError('invalid_input', 'nothing to generate: noiseSamples 0, no clean sample and no retrieval')
  if (!(r.noiseVariance >= 0)) throw new StudioError('invalid_input', 'noiseVariance must be ≥ 0')
  if (!Number.isInteger(r.beam) || r.beam < 1 || r.beam > 16) throw new StudioError('invalid_input', 'beam must be an integer in 1..16')
  if (!Number.isInteger(r.topK) || r.topK < 1) throw new StudioError('invalid_input', 'topK must be a positive integer')
  if (r.memoryProjection && !hasDatastore(pack)) throw new StudioError('unsupported', `pack ${pack.id} has no caption datastore, which memoryProjection projects onto`)
  if (align === 'off') r.rankBy = r.rankBy === 'aclipS' ? 'clipS' : r.rankBy === 'refAclipS' ? 'refClipS' : r.rankBy
  return r
}
