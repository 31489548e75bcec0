// Engine worker / any Node process (pure). CLIP-based caption scores and candidate ranking.
// [Note: scores] Following jmhessel/clipscore (methods.md §0.4), on L2-normalised embeddings:
//   CLIP-S     = 2.5 · max(cos(image, text), 0)
//   aCLIP-S    = 2.5 · max(cos(normalize(image·W), text), 0)      (W: the active realignment)
//   RefCLIP-S  = 2ab/(a+b), a = CLIP-S, b = max(0, max_r cos(text, ref_r))
//   RefaCLIP-S = the same with a = aCLIP-S
// The ranking score is aCLIP-S when a realignment is active, else CLIP-S (`rankBy` overrides); ties are
// broken by the decoder's log-probability, then by text, so rankings are deterministic.
import { dot, type Vec } from './linalg'

export const CLIP_S_WEIGHT = 2.5

export function clipS(cos: number, w = CLIP_S_WEIGHT): number {
  return w * Math.max(cos, 0)
}

export function harmonic(a: number, b: number): number {
  return a + b > 0 ? (2 * a * b) / (a + b) : 0
}

/** Quality weight of PCM-Net's CXE: min(1, w·cos), clipped at 0 (methods.md §4.5; w = 4 per the paper). */
export function qualityWeight(cos: number, w = 4): number {
  return Math.min(1, Math.max(0, w * cos))
}

export interface Scores {
  cos: number
  clipS: number
  acos?: number
  aclipS?: number
  refClipS?: number
  refAclipS?: number
  quality: number
}

export type RankBy = 'aclipS' | 'clipS' | 'refClipS' | 'refAclipS'

/** Scores of one caption embedding (normalised) against an image (and its realigned copy, and references). */
export function scoreText(text: Vec, image: Vec, aligned: Vec | null, refs: readonly Vec[] | null): Scores {
  const cos = dot(image, text)
  const s: Scores = { cos, clipS: clipS(cos), quality: qualityWeight(cos) }
  if (aligned) {
    s.acos = dot(aligned, text)
    s.aclipS = clipS(s.acos)
  }
  if (refs && refs.length > 0) {
    let best = -Infinity
    for (const r of refs) best = Math.max(best, dot(text, r))
    const b = Math.max(best, 0)
    s.refClipS = harmonic(s.clipS, b)
    if (s.aclipS !== undefined) s.refAclipS = harmonic(s.aclipS, b)
  }
  return s
}

/** References never change the default ranking (an evaluation passing references must not leak them). */
export function defaultRankBy(alignOn: boolean): RankBy {
  return alignOn ? 'aclipS' : 'clipS'
}

export function rankScore(s: Scores, by: RankBy): number {
  return s[by] ?? s.clipS
}
