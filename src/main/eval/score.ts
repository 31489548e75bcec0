// Any Node process (pure). Scores one configuration's captions on one split: the coco-caption text metrics,
// the ShapesWorld truth rate (when scenes are given), the share of held-out pairs named (test-heldout), and
// CLIP-S / RefCLIP-S from embeddings computed by the caller with the pack's CLIP.
// [Note: failures] An image the engine failed on scores as an empty caption (0 on every metric, false),
// so a failing configuration cannot look better by dropping hard images; the count is reported.
import { clipS, refClipS, textMetrics, type Embedding } from './metrics'
import type { Refs } from './dataset'
import { isTrue, heldOutPairs, namesHeldOutPair, type Scene } from './shapesworld-truth'

export interface SplitData {
  name: string
  /** Image keys (base names) in evaluation order. */
  keys: string[]
  /** Absolute image paths, same order as keys. */
  files: string[]
  refs: Refs
  scenes?: Map<string, Scene>
}

export interface ScoredRun {
  n: number
  failed: number
  ciderD: number
  bleu: [number, number, number, number]
  rougeL: number
  /** Share of captions true of their scene; null without scenes. */
  truth: number | null
  /** Among images with a held-out pair: share whose caption names it (colour and shape) AND is true — the
   *  model kit's heldoutPairNamed (null when no image has one). */
  heldOutNamed: number | null
  clipS: number | null
  refClipS: number | null
}

export interface ClipEmbeddings {
  images: readonly Embedding[]
  captions: readonly (Embedding | null)[]
  refs: readonly (readonly Embedding[])[]
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)

export function scoreRun(split: SplitData, captions: readonly (string | null)[], clip?: ClipEmbeddings): ScoredRun {
  if (captions.length !== split.keys.length) throw new Error(`expected ${split.keys.length} captions, got ${captions.length}`)
  const items = split.keys.map((key, i) => ({ id: key, candidate: captions[i] ?? '', references: split.refs.get(key) ?? [] }))
  const text = textMetrics(items)
  let truth: number | null = null
  let heldOutNamed: number | null = null
  if (split.scenes) {
    const scenes = split.scenes
    truth = mean(split.keys.map((key, i) => (captions[i] && isTrue(captions[i]!, scenes.get(key)!) ? 1 : 0)))
    const withPair = split.keys.flatMap((key, i) => (heldOutPairs(scenes.get(key)!).length ? [i] : []))
    heldOutNamed = withPair.length
      ? mean(withPair.map((i) => {
          const c = captions[i]
          const sc = scenes.get(split.keys[i]!)!
          return c && namesHeldOutPair(c, sc) && isTrue(c, sc) ? 1 : 0
        }))
      : null
  }
  let cs: number | null = null
  let rcs: number | null = null
  if (clip) {
    cs = mean(split.keys.map((_, i) => (clip.captions[i] ? clipS(clip.images[i]!, clip.captions[i]!) : 0)))
    rcs = mean(split.keys.map((_, i) => (clip.captions[i] ? refClipS(clip.images[i]!, clip.captions[i]!, clip.refs[i] ?? []) : 0)))
  }
  return {
    n: split.keys.length,
    failed: captions.filter((c) => c === null).length,
    ciderD: text.ciderD,
    bleu: text.bleu,
    rougeL: text.rougeL,
    truth,
    heldOutNamed,
    clipS: cs,
    refClipS: rcs
  }
}

/** Missing references or scenes are errors that name the first few images. */
export function checkSplit(split: SplitData): void {
  const noRefs = split.keys.filter((k) => !(split.refs.get(k)?.length))
  if (noRefs.length) throw new Error(`${split.name}: ${noRefs.length} image(s) without references, e.g. ${noRefs.slice(0, 3).join(', ')}`)
  if (split.scenes) {
    const noScene = split.keys.filter((k) => !split.scenes!.has(k))
    if (noScene.length) throw new Error(`${split.name}: ${noScene.length} image(s) without a scene, e.g. ${noScene.slice(0, 3).join(', ')}`)
  }
}

/**
 * One human reference (the first) scored against the others, with the same metrics: a ceiling for
 * orientation. `clip` holds the per-image embeddings of the image and of every reference, in order.
 */
export function scoreLeaveOneOut(split: SplitData, clip?: { images: readonly Embedding[]; refs: readonly (readonly Embedding[])[] }): ScoredRun {
  const refs: Refs = new Map(split.keys.map((k) => [k, (split.refs.get(k) ?? []).slice(1)]))
  const captions = split.keys.map((k) => split.refs.get(k)?.[0] ?? null)
  const embeddings = clip ? { images: clip.images, captions: clip.refs.map((r) => r[0] ?? null), refs: clip.refs.map((r) => r.slice(1)) } : undefined
  return scoreRun({ ...split, refs }, captions, embeddings)
}

/** Share of ALL reference captions the truth checker accepts (1 when checker and generator agree). */
export function referenceTruth(split: SplitData): number | null {
  if (!split.scenes) return null
  let total = 0
  let ok = 0
  for (const k of split.keys) {
    for (const r of split.refs.get(k) ?? []) {
      total++
      if (isTrue(r, split.scenes.get(k)!)) ok++
    }
  }
  return total ? ok / total : null
}
