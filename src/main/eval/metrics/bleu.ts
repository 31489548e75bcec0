// Any Node process (pure). BLEU-1..4 with coco-caption's definition (pycocoevalcap/bleu/bleu_scorer.py).
// [Note: BLEU as coco-caption computes it]
//   - Per candidate and order k: guess_k = max(0, len − k + 1) n-grams, correct_k = Σ over the candidate's
//     n-grams of min(count in candidate, max count in any single reference) (clipping).
//   - Reference length is the "closest" reference length to the candidate length, ties going to the shorter
//     reference (Python's min over (|ref − len|, ref) tuples).
//   - The corpus score sums test length, reference length, guess_k and correct_k over ALL candidates first and
//     then takes BLEU-n = (Π_{k≤n} (correct_k + 1e-15)/(guess_k + 1e-9))^(1/n) · BP, with the brevity penalty
//     BP = exp(1 − ref/test) when test < ref (ratio = (test + 1e-15)/(ref + 1e-9)). This corpus-level value is
//     what coco-caption reports, and what we report; the per-sentence scores (same formula per candidate) are
//     returned too but are NOT averaged into the headline number.
import { ngramCounts } from './ngrams'

const TINY = 1e-15
const SMALL = 1e-9

export interface BleuStats {
  testLen: number
  refLen: number
  guess: number[]
  correct: number[]
}

export interface BleuResult {
  /** Corpus-level BLEU-1..maxN (index k = BLEU-(k+1)). */
  corpus: number[]
  /** Per-candidate BLEU-1..maxN, same formula on one candidate's statistics. */
  perCandidate: number[][]
}

export function closestRefLength(testLen: number, refLens: readonly number[]): number {
  let best = Infinity
  let bestLen = 0
  for (const l of refLens) {
    const d = Math.abs(l - testLen)
    if (d < best || (d === best && l < bestLen)) {
      best = d
      bestLen = l
    }
  }
  return bestLen
}

export function bleuStats(candidate: readonly string[], references: readonly (readonly string[])[], maxN = 4): BleuStats {
  const guess: number[] = []
  const correct: number[] = []
  for (let n = 1; n <= maxN; n++) {
    const maxRef = new Map<string, number>()
    for (const ref of references) {
      for (const [g, c] of ngramCounts(ref, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c))
    }
    let hit = 0
    for (const [g, c] of ngramCounts(candidate, n)) hit += Math.min(c, maxRef.get(g) ?? 0)
    guess.push(Math.max(0, candidate.length - n + 1))
    correct.push(hit)
  }
  return {
    testLen: candidate.length,
    refLen: closestRefLength(candidate.length, references.map((r) => r.length)),
    guess,
    correct
  }
}

export function bleuFromStats(s: BleuStats): number[] {
  const out: number[] = []
  let product = 1
  for (let k = 0; k < s.guess.length; k++) {
    product *= (s.correct[k]! + TINY) / (s.guess[k]! + SMALL)
    out.push(product ** (1 / (k + 1)))
  }
  const ratio = (s.testLen + TINY) / (s.refLen + SMALL)
  if (ratio < 1) {
    const bp = Math.exp(1 - 1 / ratio)
    for (let k = 0; k < out.length; k++) out[k] = out[k]! * bp
  }
  return out
}

/** items: tokenised candidate and references per image. */
export function bleu(items: readonly { candidate: readonly string[]; references: readonly (readonly string[])[] }[], maxN = 4): BleuResult {
  const total: BleuStats = { testLen: 0, refLen: 0, guess: new Array<number>(maxN).fill(0), correct: new Array<number>(maxN).fill(0) }
  const perCandidate: number[][] = []
  for (const item of items) {
    const s = bleuStats(item.candidate, item.references, maxN)
    perCandidate.push(bleuFromStats(s))
    total.testLen += s.testLen
    total.refLen += s.refLen
    for (let k = 0; k < maxN; k++) {
      total.guess[k] = total.guess[k]! + s.guess[k]!
      total.correct[k] = total.correct[k]! + s.correct[k]!
    }
  }
  return { corpus: items.length > 0 ? bleuFromStats(total) : new Array<number>(maxN).fill(0), perCandidate }
}
