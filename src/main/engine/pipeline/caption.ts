// Engine worker (plain Node) — also callable in-process. The captioning pipeline over a batch of files.
// [Note: caption pipeline] Per image: preprocess → image encoder (global g, tokens, attention) → salient
// concepts → subregion aggregation (regions.ts; optional mix-up, concepts.ts) → fused f → optional
// realignment of the prefix → optional projection onto the caption memory (memory.ts, DeCap) → N noisy
// copies of f, plus the *clean global* g when `cleanSample` (that is exactly the plain CapDec-style decode,
// or DeCap's with the projection, so CLIP reranking can never pick a caption scoring below it) →
// batched decoding → retrieval of the top-k datastore captions nearest normalize(g·W) → merge duplicates
// (same normalised words) → CLIP-S / aCLIP-S / Ref* scores → rank (scoring.ts). With `rerank` off the
// order is decoder order (clean first, then samples 0..N−1), retrieval last. Timings are per image; batched
// stages (preprocess, image encoder) report their batch time divided by the batch size.
// [Note: pcm-net in the pipeline] With a `pcm-net` decoder (PCM-Net, pcm.ts) the decoder reads the image's
// tokens and its salient concepts instead of a prefix embedding, and decodes once per image: the paper adds
// noise only in training, so noiseSamples and cleanSample do not multiply its candidates (any value > 0 or
// true asks for the one decode). Retrieval, scoring and ranking are unchanged. Its candidate's provenance
// names the kind and which pooled patches the graph mixed with which concept. With `alsoDecoders` more
// decoders (e.g. a pcm-net one beside the text-only noise decoder) add their captions to the same pool before
// the rerank (decoder-runs.ts, [Note: decoders side by side]); each candidate names the decoder that made it.
import { StudioError, toEnvelope, type ErrorEnvelope } from '@shared/errors'
import { salientConcepts, type SalientConcept } from './concepts'
import type { PcmMixMap } from './pcm'
import { isPcmDecoder, type AnyDecoderSpec } from '../packs/pack-schema'
import { decodersFor, runDecoders } from './decoder-runs'
import type { Engine } from '../worker/engine'
import type { ImageEncoding } from '../worker/encoders'
import { normalize, type Vec } from '../math/linalg'
import type { DatastoreSource } from '../packs/pack-schema'
import { projectOntoMemory, type MemoryInfo } from './memory'
import { datastoreCaption, datastoreSource, retrieve } from './retrieval'
import { resolveOptions, type CaptionOptions, type ResolvedOptions } from './options'
import type { Preprocessed } from '../worker/preprocess'
import { cropBoxes, regionSimilarity, type Aggregated, type Heatmap } from './regions'
import { aggregateRegions } from './region-features'
import { rankScore, scoreText, type Scores } from '../math/scoring'

export interface CaptionInput {
  file: string
  /** Reference captions, for RefCLIP-S / RefaCLIP-S (never used for ranking unless rankBy says so). */
  references?: string[]
}

export interface Candidate {
  text: string
  source: 'decoder' | 'retrieval' | 'decoder+retrieval'
  score: number
  scores: Scores
  provenance: {
    decoder?: { id: string; kind: string; samples: { index: number; seed: number | null }[]; logProb: number; noiseVariance: number; beam: number; memory?: MemoryInfo; mixup?: PcmMixMap }
    retrieval?: RetrievalProvenance
  }
}

export interface RetrievalProvenance {
  /** Datastore row. */
  index: number
  similarity: number
  align: string
  /** Where the caption comes from (pack.json datastore.sources), e.g. COCO captions, CC BY 4.0. */
  source?: { name: string; licence: string; attribution?: string; url?: string }
}

function sourceLabel(s: DatastoreSource): NonNullable<RetrievalProvenance['source']> {
  return { name: s.name, licence: s.licence, ...(s.attribution !== undefined ? { attribution: s.attribution } : {}), ...(s.url !== undefined ? { url: s.url } : {}) }
}

export interface CaptionResult {
  file: string
  caption: string
  candidates: Candidate[]
  concepts: SalientConcept[]
  regions: (Heatmap & { similarity: number[] }) | null
  timings: Record<string, number>
  options: ResolvedOptions
  /** The normalised global image embedding (kept by the host per pack space, [Note: embedding spaces]). */
  embedding: Float32Array
}

export interface CaptionFailure {
  file: string
  error: ErrorEnvelope
}

export interface CaptionHooks {
  signal?: AbortSignal
  onProgress?: (p: { done: number; total: number; file: string }) => void
}

const CHUNK = 16

const now = () => performance.now()

export async function captionFiles(engine: Engine, inputs: readonly CaptionInput[], options: CaptionOptions = {}, hooks: CaptionHooks = {}): Promise<(CaptionResult | CaptionFailure)[]> {
  const o = resolveOptions(engine.pack.json, options)
  const decoders = decodersFor(engine, o)
  const tokens = o.regions === 'patch' || decoders.some(isPcmDecoder)
  engine.realignmentMatrix(o.align)
  const out: (CaptionResult | CaptionFailure)[] = []
  const boxes = o.regions === 'crops' ? cropBoxes() : undefined
  // [Note: preprocess ahead] the next chunk decodes while this one is encoded and decoded; `preprocess` in the
  // timings is the time this loop waited for a chunk's inputs (all of it for the first chunk).
  const prep = (start: number) => {
    const p = engine.preprocess(inputs.slice(start, start + CHUNK).map((c) => c.file), { crops: boxes, signal: hooks.signal })
    p.catch(() => undefined)
    return p
  }
  let next = inputs.length ? prep(0) : null
  for (let start = 0; start < inputs.length; start += CHUNK) {
    const chunk = inputs.slice(start, start + CHUNK)
    const t0 = now()
    const pre = await (next ?? prep(start))
    next = engine.overlapEnabled && start + CHUNK < inputs.length ? prep(start + CHUNK) : null
    const ok = pre.flatMap((p) => (p.ok ? [p.value] : []))
    const tPre = (now() - t0) / Math.max(1, chunk.length)
    const t1 = now()
    const enc = await engine.encodePixels(ok.map((p) => p.pixels), tokens)
    const tEnc = (now() - t1) / Math.max(1, ok.length)
    let k = 0
    for (let i = 0; i < chunk.length; i++) {
      if (hooks.signal?.aborted) throw new StudioError('cancelled', 'captioning cancelled')
      const p = pre[i]!
      const input = chunk[i]!
      if (!p.ok) {
        out.push({ file: p.file, error: p.error.toEnvelope() })
      } else {
        const e = enc[k++]!
        try {
          out.push(await captionOne(engine, input, p.value, e, o, { preprocess: tPre, imageEncoder: tEnc }, decoders, hooks.signal))
        } catch (err) {
          if (err instanceof StudioError && err.code === 'cancelled') throw err
          out.push({ file: input.file, error: toEnvelope(err) })
        }
      }
      hooks.onProgress?.({ done: start + i + 1, total: inputs.length, file: input.file })
    }
  }
  return out
}

/** Start preprocessing a caption request's first chunk before the request runs ([Note: preprocess ahead]). */
export function prefetchCaption(engine: Engine, inputs: readonly CaptionInput[], options: CaptionOptions = {}): void {
  const o = resolveOptions(engine.pack.json, options)
  engine.prefetch(inputs.slice(0, CHUNK).map((c) => c.file), o.regions === 'crops' ? cropBoxes() : undefined)
}

async function aggregate(engine: Engine, pre: Preprocessed, enc: ImageEncoding, o: ResolvedOptions, concepts: SalientConcept[]): Promise<Aggregated | null> {
  return o.regions === 'off' ? null : aggregateRegions(engine, pre, enc, { ...o, regions: o.regions }, concepts)
}

async function captionOne(engine: Engine, input: CaptionInput, pre: Preprocessed, enc: ImageEncoding, o: ResolvedOptions, batched: Record<string, number>, decoders: readonly AnyDecoderSpec[], signal?: AbortSignal): Promise<CaptionResult> {
  const timings: Record<string, number> = { ...batched }
  const tStart = now()
  const pack = engine.pack
  let t = now()
  const concepts = pack.concepts && (o.concepts || o.mixup) ? salientConcepts(enc.embed, pack.concepts, pack.conceptList, o.conceptTau, o.conceptTopK) : []
  timings.concepts = now() - t

  t = now()
  const agg = await aggregate(engine, pre, enc, o, concepts)
  const fused = agg?.fused ?? enc.embed
  timings.regions = now() - t

  t = now()
  const aligned = engine.realign(enc.embed, o.align)
  const unprojected = o.alignPrefix ? (engine.realign(fused, o.align) ?? fused) : fused
  let memory: MemoryInfo | undefined
  const project = (x: Vec): Vec => {
    const p = projectOntoMemory(pack, x)
    memory = p.info
    return p.vector
  }
  const runs = await runDecoders(engine, decoders, enc, o, { base: () => (o.memoryProjection && o.noiseSamples > 0 ? project(unprojected) : unprojected), clean: () => (o.memoryProjection ? project(enc.embed) : normalize(enc.embed)) }, signal)
  timings.decode = now() - t

  const byKey = new Map<string, Candidate>()
  const keyOf = (text: string) => pack.tokenizer.normalize(text)
  for (const run of runs) {
    run.decoded.forEach((d, i) => {
      const key = keyOf(d.text)
      if (!key) return
      const s = run.samples[i]!
      const have = byKey.get(key)
      if (have?.provenance.decoder) {
        // the same caption from another sample (or another decoder): the first decoder keeps the provenance
        if (have.provenance.decoder.id === run.decoderId) have.provenance.decoder.samples.push({ index: s.index, seed: s.seed })
        have.provenance.decoder.logProb = Math.max(have.provenance.decoder.logProb, d.logProb)
        return
      }
      byKey.set(key, {
        text: d.text,
        source: 'decoder',
        score: 0,
        scores: { cos: 0, clipS: 0, quality: 0 },
        provenance: {
          decoder: {
            id: run.decoderId,
            kind: run.kind,
            samples: [{ index: s.index, seed: s.seed }],
            logProb: d.logProb,
            noiseVariance: s.index < 0 ? 0 : o.noiseVariance,
            beam: o.beam,
            ...(memory && run.kind === 'prefix-tokens' ? { memory } : {}),
            ...(run.mix ? { mixup: run.mix } : {})
          }
        }
      })
    })
  }

  t = now()
  if (o.retrieval) {
    const q = aligned ?? enc.embed
    for (const { row: idx, similarity } of retrieve(pack, q, o.retrievalK)) {
      const text = datastoreCaption(pack, idx)
      const key = keyOf(text)
      const have = byKey.get(key)
      const src = datastoreSource(pack, idx)
      const retrieval: RetrievalProvenance = { index: idx, similarity, align: o.align, ...(src ? { source: sourceLabel(src) } : {}) }
      if (have) {
        have.provenance.retrieval ??= retrieval
        if (have.source === 'decoder') have.source = 'decoder+retrieval'
      } else {
        byKey.set(key, { text, source: 'retrieval', score: 0, scores: { cos: 0, clipS: 0, quality: 0 }, provenance: { retrieval } })
      }
    }
  }
  timings.retrieval = now() - t

  const candidates = [...byKey.values()]
  if (candidates.length === 0) throw new StudioError('model_error', runs.length ? `${pre.file}: the decoder produced only empty captions` : `${pre.file}: retrieval found no datastore caption`)
  t = now()
  const embs = await engine.embedTexts(candidates.map((c) => o.clipPrefix + c.text))
  const refs = input.references?.length ? await engine.embedTexts(input.references.map((r) => o.clipPrefix + r)) : null
  timings.textEncoder = now() - t

  t = now()
  const embOf = new Map<Candidate, Vec>()
  candidates.forEach((c, i) => {
    embOf.set(c, embs[i]!)
    c.scores = scoreText(embs[i]!, enc.embed, aligned, refs)
    c.score = rankScore(c.scores, o.rankBy)
  })
  if (o.rerank) {
    const lp = (c: Candidate) => c.provenance.decoder?.logProb ?? -Infinity
    candidates.sort((a, b) => b.score - a.score || lp(b) - lp(a) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
  }
  const pick = candidates[0]!
  let regions: CaptionResult['regions'] = null
  if (agg) regions = { ...agg.heatmap, similarity: regionSimilarity(agg.features, embOf.get(pick)!) }
  timings.rerank = now() - t
  timings.total = now() - tStart + batched.preprocess! + batched.imageEncoder!
  return { file: pre.file, caption: pick.text, candidates, concepts, regions, timings, options: o, embedding: enc.embed }
}
