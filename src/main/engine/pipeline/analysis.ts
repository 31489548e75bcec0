// Engine worker (plain Node) — also callable in-process. File/caption-level wrappers around the pure
// analyses: modality gap over (image, caption) pairs, per-region similarity to captions, and realignment
// refits from (image, caption) pairs. A pair whose image fails is skipped and reported, never fatal.
import { StudioError, type ErrorEnvelope } from '@shared/errors'
import { salientConcepts } from './concepts'
import type { Engine } from '../worker/engine'
import { analyzeGap, type GapAnalysis } from './gap'
import type { Vec } from '../math/linalg'
import type { AlignMode, RegionsMode } from './options'
import { scoreText, type Scores } from '../math/scoring'
import type { AlignMethod, Realignment } from '../math/realign'
import { cropBoxes, regionSimilarity, type Heatmap } from './regions'
import { aggregateRegions } from './region-features'

export interface FileCaptionPair {
  file: string
  caption: string
}

export interface PairEmbeddings {
  images: Vec[]
  texts: Vec[]
  used: FileCaptionPair[]
  skipped: { file: string; error: ErrorEnvelope }[]
}

export async function embedPairs(engine: Engine, pairs: readonly FileCaptionPair[], signal?: AbortSignal): Promise<PairEmbeddings> {
  const files = [...new Set(pairs.map((p) => p.file))]
  const imgs = await engine.embedImages(files, signal)
  const byFile = new Map(imgs.map((r) => [r.file, r]))
  const used: FileCaptionPair[] = []
  const skipped: PairEmbeddings['skipped'] = []
  const images: Vec[] = []
  for (const p of pairs) {
    const r = byFile.get(p.file)
    if (!r || 'error' in r) {
      if (!skipped.some((s) => s.file === p.file)) skipped.push({ file: p.file, error: r && 'error' in r ? r.error.toEnvelope() : { code: 'internal', message: 'not embedded' } })
      continue
    }
    used.push(p)
    images.push(r.embedding)
  }
  const texts = await engine.embedTexts(used.map((p) => p.caption))
  return { images, texts, used, skipped }
}

export async function gapForPairs(engine: Engine, pairs: readonly FileCaptionPair[], fractions?: number[], signal?: AbortSignal): Promise<GapAnalysis & { skipped: PairEmbeddings['skipped'] }> {
  const e = await embedPairs(engine, pairs, signal)
  return { ...analyzeGap(e.images, e.texts, fractions), skipped: e.skipped }
}

export async function fitFromPairs(engine: Engine, pairs: readonly FileCaptionPair[], method: AlignMethod, opts: { lambda?: number; activate?: boolean; signal?: AbortSignal } = {}): Promise<Realignment & { skipped: PairEmbeddings['skipped'] }> {
  const e = await embedPairs(engine, pairs, opts.signal)
  const r = engine.fitRealignment(e.images.map((image, i) => ({ image, text: e.texts[i]! })), method, opts)
  return { ...r, skipped: e.skipped }
}

/**
 * CLIP scores of arbitrary captions (e.g. a human edit) for one image, with the same definitions as the
 * caption pipeline (scoring.ts): CLIP-S, aCLIP-S under `align`, Ref* when references are given, and the
 * quality weight min(1, 4·cos).
 */
export async function scoreCaptionsFor(engine: Engine, file: string, captions: readonly string[], opts: { align?: AlignMode; references?: readonly string[]; clipPrefix?: string } = {}): Promise<(Scores & { caption: string })[]> {
  const [img] = await engine.embedImages([file])
  if (!img) throw new StudioError('internal', 'no image embedding')
  if ('error' in img) throw img.error
  const prefix = opts.clipPrefix ?? engine.pack.json.defaults.clipPrefix
  const aligned = engine.realign(img.embedding, opts.align ?? engine.pack.json.defaults.align)
  const embs = await engine.embedTexts(captions.map((c) => prefix + c))
  const refs = opts.references?.length ? await engine.embedTexts(opts.references.map((r) => prefix + r)) : null
  return captions.map((caption, i) => ({ caption, ...scoreText(embs[i]!, img.embedding, aligned, refs) }))
}

export interface RegionSimilarity {
  file: string
  heatmap: Heatmap
  captions: { caption: string; global: number; regions: number[] }[]
}

/** The heatmap of one image and each caption's cosine with the global embedding and with every region. */
export async function regionSimilarityFor(engine: Engine, file: string, captions: readonly string[], mode: Exclude<RegionsMode, 'off'>, opts: { mixup?: boolean; topK?: number; patchWeight?: number } = {}): Promise<RegionSimilarity> {
  const d = engine.pack.json.defaults
  const boxes = mode === 'crops' ? cropBoxes() : undefined
  const [pre] = await engine.preprocess([file], { crops: boxes })
  if (!pre) throw new StudioError('internal', 'no preprocess result')
  if (!pre.ok) throw pre.error
  const [enc] = await engine.encodePixels([pre.value.pixels], mode === 'patch')
  if (!enc) throw new StudioError('internal', 'no image encoding')
  const concepts = opts.mixup && engine.pack.concepts ? salientConcepts(enc.embed, engine.pack.concepts, engine.pack.conceptList, d.conceptTau, d.conceptTopK) : []
  const agg = await aggregateRegions(engine, pre.value, enc, { regions: mode, topK: opts.topK ?? d.topK, patchWeight: opts.patchWeight ?? d.patchWeight, mixup: opts.mixup ?? false, conceptTau: d.conceptTau }, concepts)
  const embs = await engine.embedTexts(captions)
  return {
    file,
    heatmap: agg.heatmap,
    captions: captions.map((caption, i) => ({ caption, global: dotSafe(enc.embed, embs[i]!), regions: regionSimilarity(agg.features, embs[i]!) }))
  }
}

function dotSafe(a: Vec, b: Vec): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
