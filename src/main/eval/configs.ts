// Any Node process (pure). The ablation configurations of the evaluation table, as engine caption options.
// [Note: the ablation ladder] Rows follow issue 6, built up from the plain noise-trained decoder ("C"):
//   retrieval        nearest datastore caption to the raw image embedding (k = 1, no realignment, no decoder)
//   dec σ²=0         the decoder trained without noise, one decode of the clean image embedding
//   dec σ²=0.016     the decoder trained at σ² = 0.016 (the papers' value), one clean decode            = C
//   C + patch        MacCap's patch route: one decode of the fused embedding normalize(g + w·s), no noise
//   C + crops        the multi-scale crop route, same
//   C + noise+rerank C with the pack's default region route (patch when the pack's is off), 8 noise samples
//                    at σ² = 0.016 plus the clean decode, reranked by CLIP-S                             = D
//   memory rows      DeCap's gap remedy (pipeline/memory.ts): the decoder input projected onto the caption
//                    datastore, normalize(softmax(100·sim) @ M). "dec σ²=0 + memory (DeCap)" is DeCap's own
//                    recipe (a decoder trained without noise, one decode of the projected embedding);
//                    "dec σ²=0.016 + memory" and "+ patch + memory" are projection instead of noise (one
//                    decode); "D + memory" is both (projection, then 8 noise samples around it + the projected
//                    clean decode, reranked) — memory projection vs noise injection vs both.
//   D + ⟨align⟩ prefix  D with the decoder reading the realigned embedding (noise added after it), still CLIP-S
//   D + retrieval    D plus the top-k datastore captions nearest the raw image embedding as candidates
//   D + procrustes   ReCap: retrieval query realigned by the pack's Procrustes matrix, ranked by aCLIP-S
//   D + ridge        the same with the ridge matrix
//   D + ridge + mixup  PCM-Net's patch-wise mix-up before aggregation (only meaningful with the patch route)
//   pcm: <id>        each pcm-net decoder of the pack (PCM-Net trained on synthetic pairs; its ablations are
//                    separate decoders: no mix-up, no CLIP weighting, neither), one decode, no reranking
//   default          the pack's defaults, untouched (what `caption` does without options)
// Ranking is set explicitly (CLIP-S, or aCLIP-S in the realigned rows, as ReCap scores) so that a pack's
// `defaults.rankBy` changes only the "default" row.
// A single noise-free decode uses noiseSamples 1 with σ² 0, because the engine's `cleanSample` decodes the
// global embedding, not the fused one. Rows whose decoder the pack lacks are skipped with a reason. Every row
// sets the options a pack's defaults could change (OFF), so only the "default" row follows pack.json.
import type { CaptionOptions } from '../engine/client'
import { isCompactDatastore, isPcmDecoder, prefixDecoders, type PackJson } from '../engine/packs/pack-schema'

export interface EvalConfig {
  name: string
  description: string
  options: CaptionOptions
}

export type ConfigPlan = { config: EvalConfig } | { name: string; skipped: string }

/** Noise samples of the sampling + reranking rows (MacCap uses 4, the pack format's default is 8). */
export const NOISE_SAMPLES = 8

const OFF: CaptionOptions = { regions: 'off', retrieval: false, align: 'off', alignPrefix: false, memoryProjection: false, rerank: false, mixup: false, concepts: false, cleanSample: false }

function decoderWith(pack: PackJson, variance: number): string | undefined {
  const exact = prefixDecoders(pack.decoders).find((d) => Math.abs(d.noiseVariance - variance) < 1e-9)
  return exact?.id
}

export function ablationPlan(pack: PackJson): ConfigPlan[] {
  const d = pack.defaults
  const plan: ConfigPlan[] = []
  const dec0 = decoderWith(pack, 0)
  const dec016 = decoderWith(pack, 0.016)
  const route = d.regions === 'off' ? 'patch' : d.regions
  const single = (decoder: string): CaptionOptions => ({ ...OFF, decoder, noiseSamples: 1, noiseVariance: 0 })
  const add = (name: string, description: string, options: CaptionOptions | null, why = '') =>
    plan.push(options ? { config: { name, description, options } } : { name, skipped: why })

  add('retrieval', 'nearest datastore caption to the image embedding (k = 1)', pack.arrays.datastore ? { ...OFF, noiseSamples: 0, retrieval: true, retrievalK: 1 } : null, 'pack has no datastore')
  add('dec σ²=0', 'decoder trained without noise, one clean decode', dec0 ? single(dec0) : null, 'pack has no σ² = 0 decoder')
  if (!dec016) {
    add('dec σ²=0.016', '', null, 'pack has no σ² = 0.016 decoder')
  } else {
    add('dec σ²=0.016', 'decoder trained at σ² = 0.016, one clean decode', single(dec016))
    add('+ patch', 'MacCap patch route (top-k by CLS attention), one decode of the fused embedding', { ...single(dec016), regions: 'patch' })
    add('+ crops', 'multi-scale crops route, one decode of the fused embedding', { ...single(dec016), regions: 'crops' })
    // The noise row always draws NOISE_SAMPLES samples at the decoder's own training variance (a pack's
    // defaults may choose 1 sample or another decoder's variance; this row is about sampling + reranking).
    const samples = NOISE_SAMPLES
    const noisy: CaptionOptions = { ...OFF, decoder: dec016, regions: route, noiseSamples: samples, noiseVariance: 0.016, cleanSample: true, rerank: true, rankBy: 'clipS' }
    add(`+ ${route} + ${samples} noise + rerank`, `${route} route, ${samples} noise samples at σ² = 0.016 plus the clean decode, ranked by CLIP-S`, noisy)
    const memory = { memoryProjection: true }
    const why = 'pack has no datastore to project onto'
    const hasMemory = !!pack.arrays.datastore || isCompactDatastore(pack.datastore)
    add('dec σ²=0 + memory (DeCap)', 'DeCap: the decoder trained without noise, one decode of the image embedding projected onto the caption datastore', hasMemory && dec0 ? { ...single(dec0), ...memory } : null, dec0 ? why : 'pack has no σ² = 0 decoder')
    add('dec σ²=0.016 + memory', 'memory projection instead of noise: one decode of the projected image embedding', hasMemory ? { ...single(dec016), ...memory } : null, why)
    add(`+ ${route} + memory`, `${route} route, one decode of the fused embedding projected onto the caption datastore`, hasMemory ? { ...single(dec016), regions: route, ...memory } : null, why)
    add(`+ ${route} + ${samples} noise + rerank + memory`, `both: the fused embedding projected onto the caption datastore, then ${samples} noise samples around it plus the projected clean decode, ranked by CLIP-S`, hasMemory ? { ...noisy, ...memory } : null, why)
    for (const align of ['procrustes', 'ridge'] as const) {
      const has = align === 'procrustes' ? pack.arrays.realignProcrustes : pack.arrays.realignRidge
      add(`+ ${align} prefix`, `the decoder reads the ${align}-realigned embedding (noise added after realignment), no retrieval`, has ? { ...noisy, align, alignPrefix: true } : null, `pack has no ${align} matrix`)
    }
    if (pack.arrays.datastore) add('+ retrieval', `also the ${d.retrievalK} nearest datastore captions (no realignment)`, { ...noisy, retrieval: true, retrievalK: d.retrievalK })
    for (const align of ['procrustes', 'ridge'] as const) {
      const has = align === 'procrustes' ? pack.arrays.realignProcrustes : pack.arrays.realignRidge
      add(`+ ${align}`, `retrieval with the ${align}-realigned query; ranked by aCLIP-S`, has && pack.arrays.datastore ? { ...noisy, retrieval: true, retrievalK: d.retrievalK, align, rankBy: 'aclipS' } : null, `pack has no ${align} matrix or no datastore`)
    }
    const mixAlign = pack.arrays.realignRidge ? 'ridge' : pack.arrays.realignProcrustes ? 'procrustes' : 'off'
    add(
      '+ mix-up',
      `PCM-Net patch-wise mix-up with the salient concepts (patch route, ${mixAlign} realignment)`,
      pack.arrays.concepts ? { ...noisy, regions: 'patch', retrieval: mixAlign !== 'off' && !!pack.arrays.datastore, retrievalK: d.retrievalK, align: mixAlign, rankBy: mixAlign === 'off' ? 'clipS' : 'aclipS', mixup: true, concepts: true } : null,
      'pack has no concept vocabulary'
    )
  }
  for (const p of pack.decoders.filter(isPcmDecoder)) add(`pcm: ${p.id}`, `PCM-Net decoder ${p.id}: ${p.description ?? ''}; one decode of the image tokens + salient concepts`, single(p.id))
  add('default', `the pack defaults, unchanged: ${JSON.stringify(d)}`, {})
  return plan
}

/** Select configurations by name: an exact (case-insensitive) name, else every name containing the text;
 *  all when `names` is empty. Plan order is kept. */
export function selectConfigs(plan: ConfigPlan[], names: readonly string[]): ConfigPlan[] {
  if (names.length === 0) return plan
  const nameOf = (p: ConfigPlan) => ('config' in p ? p.config.name : p.name).toLowerCase()
  const keep = new Set<ConfigPlan>()
  for (const raw of names) {
    const w = raw.toLowerCase()
    const exact = plan.filter((p) => nameOf(p) === w)
    for (const p of exact.length ? exact : plan.filter((p) => nameOf(p).includes(w))) keep.add(p)
  }
  const out = plan.filter((p) => keep.has(p))
  if (out.length === 0) throw new Error(`no configuration matches ${names.join(', ')}; known: ${plan.map(nameOf).join(' | ')}`)
  return out
}
