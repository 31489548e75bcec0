// Unit tests (Node): PTB-style tokenisation, BLEU and ROUGE-L on worked examples computed by hand.
import { describe, expect, it } from 'vitest'
import { bleu, closestRefLength, lcsLength, rougeL, rougeLCorpus, textMetrics, tokenize } from '../../src/main/eval/metrics'

const t = (s: string) => s.split(' ')

describe('tokenize (PTB-style)', () => {
  it('lower-cases and removes punctuation', () => {
    expect(tokenize('A Red Circle, on a GRAY background.')).toEqual(['a', 'red', 'circle', 'on', 'a', 'gray', 'background'])
    expect(tokenize('  "Two"   (shapes)!?  ')).toEqual(['two', 'shapes'])
  })
  it('splits PTB clitics and keeps inner hyphens and decimals', () => {
    expect(tokenize("The dog's ball isn't black-and-white")).toEqual(['the', 'dog', "'s", 'ball', 'is', "n't", 'black-and-white'])
    expect(tokenize('It’s 3.5 m')).toEqual(['it', "'s", '3.5', 'm'])
  })
  it('is the identity split on ShapesWorld captions', () => {
    const c = 'a small red circle to the left of a blue star'
    expect(tokenize(c)).toEqual(c.split(' '))
  })
})

describe('BLEU (coco-caption, corpus level)', () => {
  it('matches the hand computation with clipping and the 1e-15/1e-9 smoothing', () => {
    // cand "the cat sat on the mat" (6), refs "the cat is on the mat" (6), "there is a cat on the mat" (7)
    // unigrams: the×2 (max ref count 2) + cat + on + mat = 5 of 6; sat unmatched      → p1 = 5/6
    // bigrams: the cat, on the, the mat match; cat sat, sat on don't                  → p2 = 3/5
    // trigrams: only "on the mat"                                                     → p3 = 1/4
    // 4-grams: none of 3                                                              → p4 = (0+1e-15)/(3+1e-9)
    // closest ref length 6 = test length → BP = exp(1 − 1/ratio) with ratio = (6+1e-15)/(6+1e-9) ≈ 1
    // BLEU-1 = 5/6; BLEU-2 = √(5/6·3/5) = √0.5; BLEU-3 = ∛(5/6·3/5·1/4) = ∛0.125 = 0.5
    // BLEU-4 = (0.125 · 1e-15/3)^(1/4) = (4.1667e-17)^(1/4) ≈ 8.0343e-5
    const r = bleu([{ candidate: t('the cat sat on the mat'), references: [t('the cat is on the mat'), t('there is a cat on the mat')] }])
    expect(r.corpus[0]).toBeCloseTo(5 / 6, 8)
    expect(r.corpus[1]).toBeCloseTo(Math.sqrt(0.5), 8)
    expect(r.corpus[2]).toBeCloseTo(0.5, 8)
    expect(r.corpus[3]! / ((0.125 * 1e-15) / 3) ** 0.25).toBeCloseTo(1, 6)
  })

  it('applies the brevity penalty against the closest reference length', () => {
    // cand "the cat" (2); refs of length 3 and 6 → closest 3; p1 = p2 = 1
    // BP = exp(1 − 3/2) = exp(−0.5) = 0.60653 → BLEU-1 = BLEU-2 = 0.60653
    const r = bleu([{ candidate: t('the cat'), references: [t('the cat sat'), t('a cat sat on the mat')] }])
    expect(r.corpus[0]).toBeCloseTo(Math.exp(-0.5), 8)
    expect(r.corpus[1]).toBeCloseTo(Math.exp(-0.5), 8)
  })

  it('breaks closest-length ties toward the shorter reference', () => {
    // test length 4, refs 3 and 5 → both at distance 1 → 3 wins → no brevity penalty; p1 = 4/4
    expect(closestRefLength(4, [5, 3])).toBe(3)
    const r = bleu([{ candidate: t('a b c d'), references: [t('a b c d e'), t('a b c')] }])
    expect(r.corpus[0]).toBeCloseTo(1, 8)
  })

  it('clips candidate counts by the maximum reference count', () => {
    // "the the the the" vs "the cat": "the" counts min(4, 1) = 1 of 4 guesses; test 4 ≥ ref 2 → no BP
    const r = bleu([{ candidate: t('the the the the'), references: [t('the cat')] }])
    expect(r.corpus[0]).toBeCloseTo(0.25, 8)
  })

  it('pools statistics over the corpus instead of averaging sentences', () => {
    // A: "a b" vs "a b" → 2 correct of 2; B: "c d e f" vs "x y z w" → 0 of 4
    // corpus p1 = 2/6 = 1/3 (lengths 6 vs 6: no BP); the mean of sentence BLEU-1 would be ≈ (1 + 0)/2 = 0.5
    const r = bleu([
      { candidate: t('a b'), references: [t('a b')] },
      { candidate: t('c d e f'), references: [t('x y z w')] }
    ])
    expect(r.corpus[0]).toBeCloseTo(1 / 3, 8)
    expect(r.perCandidate[0]![0]).toBeCloseTo(1, 8)
    expect(r.perCandidate[1]![0]).toBeLessThan(1e-5)
  })
})

describe('ROUGE-L (coco-caption, β = 1.2)', () => {
  it('computes the LCS length', () => {
    // "the cat sat on the mat" vs "the cat is on the mat": the cat · on the mat = 5
    expect(lcsLength(t('the cat sat on the mat'), t('the cat is on the mat'))).toBe(5)
    expect(lcsLength(t('a b c'), t('c b a'))).toBe(1)
    expect(lcsLength([], t('a'))).toBe(0)
  })
  it('weights recall by β² in the F-measure', () => {
    // cand "a b c" vs ref "a b c d e f": LCS 3 → P = 1, R = 0.5
    // F = (1 + 1.44)·1·0.5 / (0.5 + 1.44·1) = 1.22 / 1.94 = 0.628866
    expect(rougeL(t('a b c'), [t('a b c d e f')])).toBeCloseTo(1.22 / 1.94, 10)
    // swapped (P = 0.5, R = 1): F = 2.44·0.5 / (1 + 1.44·0.5) = 1.22 / 1.72 = 0.709302 — not symmetric
    expect(rougeL(t('a b c d e f'), [t('a b c')])).toBeCloseTo(1.22 / 1.72, 10)
  })
  it('takes the maximum precision and the maximum recall over references separately', () => {
    // cand "a b c"; ref1 "a b c d e f": P = 1, R = 1/2; ref2 "a b": LCS 2 → P = 2/3, R = 1
    // coco-caption combines max P = 1 (ref1) with max R = 1 (ref2) → F = 1
    expect(rougeL(t('a b c'), [t('a b c d e f'), t('a b')])).toBeCloseTo(1, 10)
  })
  it('averages over candidates and gives 0 to an empty candidate', () => {
    const r = rougeLCorpus([
      { candidate: t('a b c'), references: [t('a b c')] },
      { candidate: [], references: [t('a b c')] }
    ])
    expect(r.perCandidate).toEqual([1, 0])
    expect(r.corpus).toBeCloseTo(0.5, 10)
  })
})

describe('textMetrics', () => {
  it('tokenises before scoring, so case and punctuation do not matter', () => {
    const a = textMetrics([{ id: 'x', candidate: 'A Red Circle.', references: ['a red circle', 'a blue star'] }])
    const b = textMetrics([{ id: 'x', candidate: 'a red circle', references: ['a red circle', 'a blue star'] }])
    expect(a.bleu).toEqual(b.bleu)
    expect(a.rougeL).toBe(1)
    expect(a.perImage[0]!.id).toBe('x')
  })
})
