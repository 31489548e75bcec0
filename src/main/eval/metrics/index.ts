// Any Node process (pure). The text metrics of one evaluation run, computed the way coco-caption does:
// tokenise candidates and references with the PTB-style tokenizer, then corpus BLEU-1..4, mean ROUGE-L and
// mean CIDEr-D over the same set (CIDEr-D's document frequencies come from this set's references).
import { bleu } from './bleu'
import { ciderD } from './cider'
import { rougeLCorpus } from './rouge'
import { tokenize } from './tokenize'

export { tokenize } from './tokenize'
export { bleu, bleuStats, bleuFromStats, closestRefLength } from './bleu'
export { rougeL, rougeLCorpus, lcsLength } from './rouge'
export { ciderD } from './cider'
export * from './clipscore'

export interface CaptionItem {
  id: string
  candidate: string
  references: readonly string[]
}

export interface TextMetrics {
  n: number
  /** Corpus-level BLEU-1..4 (coco-caption). */
  bleu: [number, number, number, number]
  rougeL: number
  ciderD: number
  perImage: { id: string; bleu4: number; rougeL: number; ciderD: number }[]
}

export function textMetrics(items: readonly CaptionItem[]): TextMetrics {
  const tok = items.map((it) => ({ candidate: tokenize(it.candidate), references: it.references.map(tokenize) }))
  const b = bleu(tok, 4)
  const r = rougeLCorpus(tok)
  const c = ciderD(tok)
  return {
    n: items.length,
    bleu: [b.corpus[0] ?? 0, b.corpus[1] ?? 0, b.corpus[2] ?? 0, b.corpus[3] ?? 0],
    rougeL: r.corpus,
    ciderD: c.corpus,
    perImage: items.map((it, i) => ({
      id: it.id,
      bleu4: b.perCandidate[i]?.[3] ?? 0,
      rougeL: r.perCandidate[i] ?? 0,
      ciderD: c.perCandidate[i] ?? 0
    }))
  }
}
