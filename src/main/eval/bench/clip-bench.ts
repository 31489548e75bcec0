// Any Node process (onnxruntime-node, sharp, optionally transformers.js). Side-by-side speed of one pack's
// CLIP towers and decoders: (a) raw session.run — the ceiling, (b) our engine, (c) transformers.js on the same
// ONNX files; plus our caption pipeline end to end with per-stage latencies.
// [Note: fairness] All three use the same intra-op thread count and the CPU provider, the same batch sizes and
// the same image files / texts. Each text is used once per implementation, so the engine's text-embedding
// cache never answers a timed call. Implementations are measured one after another within the same run, and
// the report gives ratios between rows of this run only.
import { join } from 'node:path'
import { captionFiles, Engine, type CaptionOptions, type PackJsonType } from '../../engine/worker'
import * as ort from 'onnxruntime-node'
import { benchProvider, fakePixels, openRaw } from './raw-ort'
import { benchDecode } from './decode-bench'
import { measureInterleaved, summarize, type MeasureOptions, type Summary } from './stats'
import { layoutForTransformers, loadTransformers, openTransformersClip, type TjsClip, type TjsTensor } from './tjs'

export type Impl = 'raw session.run' | 'raw session.run, KV cache' | 'ours' | 'ours, JS next-token' | 'ours, no cache' | 'transformers.js'

export interface BenchRow {
  pack: string
  stage: string
  impl: Impl
  summary: Summary
}

export interface PipelineResult {
  name: string
  imagesPerSec: number
  stages: { stage: string; p50: number; p95: number }[]
}

/** Option sets whose per-stage timings the bench reports (the pack defaults first). */
export const PIPELINES: { name: string; options: CaptionOptions }[] = [
  { name: 'pack defaults', options: {} },
  { name: 'patch route, 8 noise samples + clean, CLIP-S rerank, no retrieval', options: { regions: 'patch', noiseSamples: 8, cleanSample: true, rerank: true, rankBy: 'clipS', retrieval: false, align: 'off' } },
  { name: 'crops route, one clean decode', options: { regions: 'crops', noiseSamples: 1, noiseVariance: 0, cleanSample: false, rerank: false, retrieval: false, align: 'off' } }
]

export interface ClipBenchResult {
  pack: string
  rows: BenchRow[]
  /** Per-stage latencies of the full caption pipeline (ms per image), from the engine's own timings. */
  pipelines: PipelineResult[]
  notes: string[]
  /** Micro-measurements of suspected waste: a vs b in ms per call, and how often a caption makes that call. */
  hotspots: { what: string; aMs: number; bMs: number; perCaption: number; unit: string }[]
}

export interface ClipBenchOptions {
  packDir: string
  pack: PackJsonType
  images: readonly string[]
  threads: number
  cacheDir: string
  imageBatches: number[]
  textBatches: number[]
  decodeBatch: number
  captionImages: number
  measure: MeasureOptions
  log: (line: string) => void
}

/** Seeded word strings of 4–10 words from a vocabulary: unique texts of caption-like length. */
export function syntheticTexts(words: readonly string[], n: number, seed = 7): string[] {
  let s = seed >>> 0
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const out = new Set<string>()
  while (out.size < n) {
    const len = 4 + Math.floor(rnd() * 7)
    out.add(Array.from({ length: len }, () => words[Math.floor(rnd() * words.length)]!).join(' '))
  }
  return [...out]
}

function cyclic<T>(items: readonly T[], batch: number, i: number): T[] {
  return Array.from({ length: batch }, (_, k) => items[(i * batch + k) % items.length]!)
}

function maxAbsDiffNormalised(a: ArrayLike<number>, b: TjsTensor, rows: number): number {
  const dim = b.dims[1]!
  const bd = b.data as Float32Array
  let worst = 0
  for (let r = 0; r < rows; r++) {
    let n = 0
    for (let k = 0; k < dim; k++) n += bd[r * dim + k]! ** 2
    n = Math.sqrt(n) || 1
    for (let k = 0; k < dim; k++) worst = Math.max(worst, Math.abs(a[r * dim + k]! - bd[r * dim + k]! / n))
  }
  return worst
}

export async function benchClip(o: ClipBenchOptions): Promise<ClipBenchResult> {
  const packName = `${o.pack.id}@${o.pack.version}`
  const rows: BenchRow[] = []
  const notes: string[] = []
  const hotspots: ClipBenchResult['hotspots'] = []
  const add = (stage: string, impl: Impl, summary: Summary) => {
    rows.push({ pack: packName, stage, impl, summary })
    o.log(`  ${stage} · ${impl}: ${summary.itemsPerSec.toFixed(1)} items/s, p50 ${summary.p50.toFixed(2)} ms, p95 ${summary.p95.toFixed(2)} ms (${summary.n} runs of ${summary.batch})`)
  }
  const engine = await Engine.open(o.packDir, { providers: [benchProvider()], intraOpThreads: o.threads })
  await engine.warm()
  const tokWords = [...new Set(engine.pack.datastoreCaptions.flatMap((c) => c.split(/\s+/)).filter(Boolean))]
  if (tokWords.length < 5) tokWords.push('a', 'photo', 'of', 'the', 'scene')
  const texts = syntheticTexts(tokWords, 60_000)
  const imageFetch = [o.pack.models.image.roles.embeds]

  const tjsLoaded = await loadTransformers()
  let tjs: TjsClip | null = null
  if ('error' in tjsLoaded) notes.push(`transformers.js skipped: ${tjsLoaded.error}`)
  else {
    try {
      const root = join(o.cacheDir, 'transformers-models')
      const id = layoutForTransformers(o.packDir, o.pack, root)
      tjs = await openTransformersClip(tjsLoaded.mod, tjsLoaded.version, root, id, o.threads, o.pack)
      notes.push(`transformers.js ${tjsLoaded.version} (local files only, allowRemoteModels = false), model folder ${join(root, id)}`)
    } catch (err) {
      notes.push(`transformers.js could not load ${packName}: ${(err as Error).message.split('\n')[0]}`)
    }
  }

  const stage = async (name: string, batch: number, fns: Partial<Record<Impl, (i: number) => Promise<unknown>>>) => {
    const res = await measureInterleaved(batch, fns as Record<string, (i: number) => Promise<unknown>>, o.measure)
    for (const impl of Object.keys(fns) as Impl[]) add(name, impl, res[impl]!)
  }

  // ---- image tower
  const rawImage = await openRaw(o.packDir, o.pack.models.image.file, o.threads)
  for (const b of o.imageBatches) {
    o.log(`${packName}: image tower, batch ${b}`)
    const pre = await engine.preprocess(cyclic(o.images, b, 0))
    const pixels = pre.map((p) => {
      if (!p.ok) throw new Error(`preprocess failed: ${p.error.message}`)
      return p.value.pixels
    })
    const rawInput = fakePixels(b, o.pack.preprocess.size)
    const px = tjs ? await tjs.preprocess(cyclic(o.images, b, 0)) : null
    await stage(`image inference (b=${b})`, b, {
      'raw session.run': () => rawImage.run({ [o.pack.models.image.roles.pixels]: rawInput }, imageFetch),
      ours: () => engine.encodePixels(pixels, false),
      ...(tjs && px ? { 'transformers.js': () => tjs!.encodePixels(px) } : {})
    })
    await stage(`image preprocess (b=${b})`, b, {
      ours: (i) => engine.preprocess(cyclic(o.images, b, i)),
      ...(tjs ? { 'transformers.js': (i: number) => tjs!.preprocess(cyclic(o.images, b, i)) } : {})
    })
    // raw inference again in the same alternating rounds: file → embedding ÷ raw inference alone (issue 16 item 4)
    // is then a ratio of one stage, not of two stages measured minutes apart on a shared machine.
    await stage(`image file → embedding (b=${b})`, b, {
      'raw session.run': () => rawImage.run({ [o.pack.models.image.roles.pixels]: rawInput }, imageFetch),
      ours: (i) => engine.embedImages(cyclic(o.images, b, i)),
      ...(tjs ? { 'transformers.js': (i: number) => tjs!.embedImages(cyclic(o.images, b, i)) } : {})
    })
  }
  await rawImage.release()
  if (tjs) {
    const files = o.images.slice(0, 16)
    const ours = (await engine.embedImages(files)).flatMap((r) => ('embedding' in r ? [...r.embedding] : []))
    notes.push(`${packName}: image embeddings, ours vs transformers.js on the same 16 files: max |Δ| after L2 normalisation = ${maxAbsDiffNormalised(ours, await tjs.embedImages(files), files.length).toExponential(2)} (preprocessing differs slightly: sharp vs transformers.js resizing)`)
  }

  // ---- text tower (every call uses texts never seen before by that implementation)
  const rawText = await openRaw(o.packDir, o.pack.models.text.file, o.threads)
  let cursor = 0
  const fresh = (n: number) => {
    if (cursor + n > texts.length) cursor = 0
    const out = texts.slice(cursor, cursor + n)
    cursor += n
    return out
  }
  const tr = o.pack.models.text.roles
  for (const b of o.textBatches) {
    o.log(`${packName}: text tower, batch ${b}`)
    const feeds = Array.from({ length: 32 }, (_, i) => {
      const t = engine.pack.tokenizer.batch(texts.slice(i * b, (i + 1) * b))
      const f: Record<string, ort.Tensor> = { [tr.ids]: new ort.Tensor('int64', t.ids, [t.batch, t.seq]) }
      if (tr.mask) f[tr.mask] = new ort.Tensor('int64', t.mask, [t.batch, t.seq])
      return f
    })
    await stage(`text embedding (b=${b})`, b, {
      'raw session.run': (i) => rawText.run(feeds[i % feeds.length]!, [tr.embeds]),
      ours: () => engine.embedTexts(fresh(b)),
      ...(tjs ? { 'transformers.js': () => tjs!.embedTexts(fresh(b)) } : {})
    })
  }
  await rawText.release()
  notes.push(`${packName}: raw session.run rows take inputs prepared in advance (pixels already normalised, texts already tokenised); ours and transformers.js rows start from each one's own preprocessed pixels (image inference: ours copies per-image arrays into the batch tensor), from files (file → embedding) or from strings (text embedding). Implementations of one stage are measured in alternating rounds.`)
  if (tjs) {
    const sample = texts.slice(-16)
    const ours = (await engine.embedTexts(sample)).flatMap((v) => [...v])
    notes.push(`${packName}: text embeddings, ours vs transformers.js on the same 16 texts: max |Δ| after L2 normalisation = ${maxAbsDiffNormalised(ours, await tjs.embedTexts(sample), sample.length).toExponential(2)}`)
    await tjs.dispose()
  }

  // ---- decoders: greedy and beam 3, a batch like 8 noise samples + the clean one (decode-bench.ts)
  if (o.pack.decoders.length) {
    const embs = (await engine.embedImages(o.images.slice(0, o.decodeBatch))).flatMap((r) => ('embedding' in r ? [r.embedding] : []))
    const d = await benchDecode({ engine, packDir: o.packDir, pack: o.pack, prefixes: embs, threads: o.threads, measure: o.measure, beams: [1, 3], log: o.log }, add)
    notes.push(...d.notes)
    hotspots.push(...d.hotspots)
  }

  // ---- the whole caption pipeline, per image, for a few option sets
  const n = Math.min(o.captionImages, o.images.length)
  const pipelines: PipelineResult[] = []
  for (const p of PIPELINES) {
    o.log(`${packName}: caption pipeline (${p.name}) on ${n} images`)
    await captionFiles(engine, o.images.slice(0, 2).map((file) => ({ file })), p.options)
    const t0 = performance.now()
    const results = await captionFiles(engine, o.images.slice(0, n).map((file) => ({ file })), p.options)
    const totalMs = performance.now() - t0
    const per = results.flatMap((r) => ('timings' in r ? [r.timings] : []))
    add(`caption, ${p.name} (${n} images)`, 'ours', summarize(per.map((t) => t.total ?? NaN), 1, totalMs))
    const stageNames = [...new Set(per.flatMap((t) => Object.keys(t)))]
    pipelines.push({
      name: p.name,
      imagesPerSec: (per.length * 1000) / totalMs,
      stages: stageNames.map((st) => {
        const sum = summarize(per.map((t) => t[st] ?? 0), 1)
        return { stage: st, p50: sum.p50, p95: sum.p95 }
      })
    })
  }
  await engine.close()
  return { pack: packName, rows, pipelines, notes, hotspots }
}
