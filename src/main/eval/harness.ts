// Any Node process. Runs evaluation configurations over splits through a captioning backend and scores them.
// [Note: timing] For every (configuration, split) a fresh backend is opened and warmed (sessions created)
// before the clock starts, so no run profits from another's text-embedding cache or pays for session
// creation; the clock covers only captioning the split's files (preprocessing through reranking), and
// time per image is that wall time divided by the number of images. The CLIP-S embeddings are computed
// after the clock stops, once per split for images and references.
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CaptionOptions } from '../engine/client'
import type { EvalConfig } from './configs'
import { keyOf, type Refs } from './dataset'
import type { Embedding } from './metrics'
import { checkSplit, scoreRun, type ScoredRun, type SplitData } from './score'
import type { Scene } from './shapesworld-truth'
import { isImageFile } from '../library/image-types'

export interface CaptionOutcome {
  file: string
  caption: string | null
  /** Where the chosen caption came from: 'decoder', 'retrieval' or 'decoder+retrieval'. */
  source?: string
  error?: string
}

/** What the harness needs from the engine; engine-backend.ts adapts the real one, tests use fakes. */
export interface EvalBackend {
  warm(options: CaptionOptions): Promise<void>
  caption(files: readonly string[], options: CaptionOptions, onProgress?: (done: number) => void): Promise<CaptionOutcome[]>
  embedImages(files: readonly string[]): Promise<Embedding[]>
  embedTexts(texts: readonly string[]): Promise<Embedding[]>
  describe(): { provider: string; pack: string }
  close(): Promise<void>
}

export type BackendFactory = () => Promise<EvalBackend>

export interface RunResult {
  config: string
  split: string
  scores: ScoredRun
  msPerImage: number
  seconds: number
  /** Share of chosen captions produced by a decoder (the rest were retrieved); null if unknown. */
  decoderPicks: number | null
  captions: { key: string; caption: string | null; error?: string }[]
}

/** Image files of a folder that have references, sorted by name; the first `limit` when given. */
export function splitFromFolder(name: string, imagesDir: string, refs: Refs, scenes?: Map<string, Scene>, limit?: number): SplitData {
  const dir = resolve(imagesDir)
  let names = readdirSync(dir)
    .filter((f) => isImageFile(f) && refs.has(keyOf(f)))
    .sort()
  if (names.length === 0) throw new Error(`${name}: no images in ${dir} have references`)
  if (limit !== undefined && limit > 0) names = names.slice(0, limit)
  const split: SplitData = { name, keys: names.map(keyOf), files: names.map((f) => join(dir, f)), refs, scenes }
  checkSplit(split)
  return split
}

export interface ClipCache {
  images: Embedding[]
  refs: Embedding[][]
}

export async function clipCacheFor(backend: EvalBackend, split: SplitData): Promise<ClipCache> {
  const images = await backend.embedImages(split.files)
  const all = split.keys.flatMap((k) => split.refs.get(k) ?? [])
  const embs = await backend.embedTexts(all)
  let at = 0
  const refs = split.keys.map((k) => {
    const n = split.refs.get(k)?.length ?? 0
    const out = embs.slice(at, at + n)
    at += n
    return out
  })
  return { images, refs }
}

export async function runConfig(
  factory: BackendFactory,
  split: SplitData,
  config: EvalConfig,
  clip: ClipCache | null,
  onProgress?: (done: number, total: number) => void
): Promise<RunResult> {
  const backend = await factory()
  try {
    await backend.warm(config.options)
    const t0 = performance.now()
    const outcomes = await backend.caption(split.files, config.options, (d) => onProgress?.(d, split.files.length))
    const seconds = (performance.now() - t0) / 1000
    const byFile = new Map(outcomes.map((o) => [o.file, o]))
    const captions = split.files.map((f, i) => {
      const o = byFile.get(f)
      return { key: split.keys[i]!, caption: o?.caption ?? null, ...(o?.error ? { error: o.error } : o ? {} : { error: 'no result' }) }
    })
    let embeddings
    if (clip) {
      const texts = captions.map((c) => c.caption ?? '')
      const distinct = [...new Set(texts.filter((t) => t))]
      const embs = await backend.embedTexts(distinct)
      const at = new Map(distinct.map((t, i) => [t, embs[i]!]))
      embeddings = { images: clip.images, refs: clip.refs, captions: texts.map((t) => (t ? at.get(t)! : null)) }
    }
    const scores = scoreRun(split, captions.map((c) => c.caption), embeddings)
    const known = outcomes.filter((o) => o.source !== undefined)
    const decoderPicks = known.length ? known.filter((o) => o.source!.includes('decoder')).length / known.length : null
    return { config: config.name, split: split.name, scores, seconds, msPerImage: (seconds * 1000) / split.files.length, decoderPicks, captions }
  } finally {
    await backend.close()
  }
}
