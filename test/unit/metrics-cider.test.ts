// Unit tests (Node): CIDEr-D on worked examples computed by hand.
import { describe, expect, it } from 'vitest'
import { ciderD } from '../../src/main/eval/metrics'

const t = (s: string) => s.split(' ')

// A two-image set. Image 1 refs "a b", "a c"; image 2 ref "a d". N = 2, log N = ln 2.
// df: "a" appears in both images' refs → idf(a) = ln2 − ln2 = 0; b, c, d, "a b", "a c", "a d" have df 1 →
// idf ln2; n-grams in no reference have df 0 → ln2 − ln(max(1, 0)) = ln2.
const refs1 = [t('a b'), t('a c')]
const refs2 = [t('a d')]

describe('CIDEr-D (coco-caption)', () => {
  it('matches the hand computation on a two-image set', () => {
    // Image 1, cand "a b":
    //   n=1: c = {a: 0, b: ln2}, ‖c‖ = ln2. vs "a b": min(ln2, ln2)·ln2/(ln2·ln2) = 1. vs "a c": 0.
    //   n=2: c = {"a b": ln2}. vs "a b": 1. vs "a c": 0.   n=3,4: empty → 0.
    //   lengths (bigram counts) 1 vs 1 → penalty 1.  Σ_refs = [1, 1, 0, 0] → mean 0.5 → /2 refs → ×10 = 2.5
    // Image 2, cand "a d e":
    //   n=1: c = {a: 0, d: ln2, e: ln2}, ‖c‖ = √2·ln2. vs "a d" ({a:0, d:ln2}, ‖r‖ = ln2): ln2²/(√2·ln2²) = 1/√2
    //   n=2: c = {"a d": ln2, "d e": ln2}, ‖c‖ = √2·ln2. vs {"a d": ln2}: 1/√2.   n=3: ‖r‖ = 0 → 0.
    //   lengths 2 vs 1 → δ = 1 → penalty exp(−1/72) = 0.986207
    //   mean([0.70711, 0.70711, 0, 0]) = 0.353553 → ×0.986207 = 0.348677 → /1 ref → ×10 = 3.48677
    // Corpus = (2.5 + 3.48677)/2 = 2.99339
    const r = ciderD([
      { candidate: t('a b'), references: refs1 },
      { candidate: t('a d e'), references: refs2 }
    ])
    const img2 = 10 * (Math.SQRT1_2 / 2) * Math.exp(-1 / 72)
    expect(r.perCandidate[0]).toBeCloseTo(2.5, 10)
    expect(r.perCandidate[1]).toBeCloseTo(img2, 10)
    expect(img2).toBeCloseTo(3.48677, 4)
    expect(r.corpus).toBeCloseTo((2.5 + img2) / 2, 10)
  })

  it('clips the candidate tf-idf by the reference tf-idf (the "D")', () => {
    // Image 1, cand "b b": n=1: c = {b: 2·ln2}, ‖c‖ = 2·ln2. vs "a b": min(2ln2, ln2)·ln2/(2ln2·ln2) = 1/2
    //   (without clipping it would be 2ln2·ln2/(2ln2·ln2) = 1). vs "a c": 0. n=2: "b b" in no ref → 0.
    //   lengths 1 vs 1 → no penalty.  Σ = [0.5, 0, 0, 0] → mean 0.125 → /2 refs = 0.0625 → ×10 = 0.625
    const r = ciderD([
      { candidate: t('b b'), references: refs1 },
      { candidate: t('a d e'), references: refs2 }
    ])
    expect(r.perCandidate[0]).toBeCloseTo(0.625, 10)
  })

  it('penalises length differences with a Gaussian of σ = 6', () => {
    // Same n-gram profile as a reference but 6 tokens longer → δ = 6 → penalty exp(−36/72) = exp(−0.5).
    // Image 1 refs "x y", image 2 refs "z w". Cand 1 = "x y" + six tokens q1..q6 that no ref contains.
    //   n=1: c = {x, y, q1..q6} each ln2 → ‖c‖ = √8·ln2; r = {x, y} → ‖r‖ = √2·ln2; dot 2ln2² → 2/(√8·√2) = 1/2
    //   n=2: c has 7 bigrams, 1 shared ("x y") → 1/(√7·1) ; n=3,4: ref empty → 0.
    //   score = 10 · exp(−0.5) · (1/2 + 1/√7)/4
    const long = t('x y q1 q2 q3 q4 q5 q6')
    const r = ciderD([
      { candidate: long, references: [t('x y')] },
      { candidate: t('z w'), references: [t('z w')] }
    ])
    expect(r.perCandidate[0]).toBeCloseTo(10 * Math.exp(-0.5) * (0.5 + 1 / Math.sqrt(7)) / 4, 10)
    // n=1: ‖c‖=√2·ln2 = ‖r‖ → 1; n=2: 1; n=3,4: 0 → mean 0.5 → ×10 = 5
    expect(r.perCandidate[1]).toBeCloseTo(5, 10)
  })

  it('takes document frequencies from the references of the scored set only', () => {
    // One image: log N = log 1 = 0 and df ≥ 1 for every reference n-gram → all weights 0 → CIDEr-D 0,
    // even for a perfect match (coco-caption behaves the same).
    expect(ciderD([{ candidate: t('a b'), references: [t('a b')] }]).corpus).toBe(0)
    // Adding a third image whose refs contain "b" lowers image 1's score: idf(b) goes from ln2 to ln3 − ln2
    // for the shared unigram while the bigram "a b" keeps df 1 (idf ln3) — scores change with the set.
    const two = ciderD([
      { candidate: t('a b'), references: refs1 },
      { candidate: t('a d e'), references: refs2 }
    ]).perCandidate[0]!
    const three = ciderD([
      { candidate: t('a b'), references: refs1 },
      { candidate: t('a d e'), references: refs2 },
      { candidate: t('q'), references: [t('b q')] }
    ]).perCandidate[0]!
    expect(two).toBeCloseTo(2.5, 10)
    expect(three).not.toBeCloseTo(two, 3)
  })

  it('ignores the candidates when counting document frequencies', () => {
    const base = ciderD([
      { candidate: t('a b'), references: refs1 },
      { candidate: t('a d'), references: refs2 }
    ]).perCandidate[0]!
    const other = ciderD([
      { candidate: t('a b'), references: refs1 },
      { candidate: t('a b b b'), references: refs2 }
    ]).perCandidate[0]!
    expect(other).toBe(base)
  })
})
