// Main process / serve / CLI (plain Node). Term frequency over caption texts: how often each term occurs and
// in how many captions, most frequent first (ties alphabetical, so the list is stable between calls).
import type { TermCount } from '@shared/contract/review'
import { termsOf, tokenize, type TermOptions } from '@shared/terms'

export interface TermCounts {
  captions: number
  tokens: number
  distinct: number
  terms: TermCount[]
}

export function countTerms(texts: readonly string[], opts: TermOptions, limit: number): TermCounts {
  const counts = new Map<string, { count: number; images: number }>()
  let tokens = 0
  for (const text of texts) {
    tokens += tokenize(text).length
    const seen = new Set<string>()
    for (const term of termsOf(text, opts)) {
      const c = counts.get(term) ?? { count: 0, images: 0 }
      c.count++
      if (!seen.has(term)) {
        c.images++
        seen.add(term)
      }
      counts.set(term, c)
    }
  }
  const terms = [...counts.entries()]
    .map(([term, c]) => ({ term, count: c.count, images: c.images }))
    .sort((a, b) => b.count - a.count || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0))
    .slice(0, limit)
  return { captions: texts.length, tokens, distinct: counts.size, terms }
}
