// Any Node process (pure). n-gram counting shared by BLEU and CIDEr-D.
// An n-gram key is its tokens joined by a single space (tokens never contain spaces).

export type NgramCounts = Map<string, number>

/** Counts of every n-gram of order exactly n. */
export function ngramCounts(tokens: readonly string[], n: number): NgramCounts {
  const counts: NgramCounts = new Map()
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ')
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** ngramCounts for n = 1..maxN, index k holds order k+1. */
export function allNgramCounts(tokens: readonly string[], maxN: number): NgramCounts[] {
  const out: NgramCounts[] = []
  for (let n = 1; n <= maxN; n++) out.push(ngramCounts(tokens, n))
  return out
}
