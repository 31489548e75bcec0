// Any Node process (pure). ROUGE-L with coco-caption's definition (pycocoevalcap/rouge/rouge.py).
// [Note: ROUGE-L as coco-caption computes it] For one candidate c and references r_1..r_m:
//   P = max_i LCS(c, r_i)/|c|,  R = max_i LCS(c, r_i)/|r_i|   (the two maxima may come from different refs)
//   ROUGE-L = (1 + β²)·P·R / (R + β²·P) with β = 1.2, or 0 when P or R is 0.
// The corpus score is the mean over candidates. An empty candidate scores 0 (coco-caption would divide by 0).

export const ROUGE_BETA = 1.2

/** Length of the longest common subsequence (O(|a|·|b|) dynamic programming, two rows). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0)
  let cur = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!)
    }
    ;[prev, cur] = [cur, prev]
  }
  return prev[b.length]!
}

export function rougeL(candidate: readonly string[], references: readonly (readonly string[])[], beta = ROUGE_BETA): number {
  if (candidate.length === 0 || references.length === 0) return 0
  let p = 0
  let r = 0
  for (const ref of references) {
    const l = lcsLength(ref, candidate)
    p = Math.max(p, l / candidate.length)
    if (ref.length > 0) r = Math.max(r, l / ref.length)
  }
  if (p === 0 || r === 0) return 0
  const b2 = beta * beta
  return ((1 + b2) * p * r) / (r + b2 * p)
}

export function rougeLCorpus(items: readonly { candidate: readonly string[]; references: readonly (readonly string[])[] }[]): { corpus: number; perCandidate: number[] } {
  const perCandidate = items.map((it) => rougeL(it.candidate, it.references))
  const corpus = perCandidate.length > 0 ? perCandidate.reduce((a, b) => a + b, 0) / perCandidate.length : 0
  return { corpus, perCandidate }
}
