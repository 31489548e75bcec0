// Shared by every process: how caption text is split into terms, so the term-frequency list, the term
// filter of the grid and the renderer's highlighting all agree on what "a term" is.
// [Note: terms] A token is a run of letters and digits (any script), with inner apostrophes and hyphens kept
// ("dog's", "close-up"), lowercased with the locale-independent toLowerCase. A term is one token or a phrase
// of consecutive tokens (bigrams); a caption "has" a term when the term's tokens occur consecutively in it.

const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu

/** A small English stop-word list: articles, prepositions, pronouns, auxiliaries and conjunctions that
 *  dominate captions ("a", "of", "on") without saying anything about the picture. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but nor so yet of on in at to from by with without for about above below over under ' +
    'into onto off up down out near next beside behind between among through across along around against ' +
    'is are was were be been being am has have had do does did it its it’s it\'s this that these those there ' +
    'here he she they them his her their we us our you your i me my as than then while which who whom whose ' +
    'what where when how very some any each other such no not only own same too can will just'
  ).split(/\s+/)
)

export function tokenize(text: string): string[] {
  return (text.toLowerCase().normalize('NFC').match(TOKEN) ?? []).map((t) => t.replace(/’/g, "'"))
}

export interface TermOptions {
  stopWords: boolean
  bigrams: boolean
}

/** The terms of one caption, with repeats: unigrams, or bigrams of adjacent tokens. With stop words
 *  removed, a bigram containing a stop word is dropped ("red square" stays, "square on" goes). */
export function termsOf(text: string, opts: TermOptions): string[] {
  const tokens = tokenize(text)
  const keep = (t: string) => !opts.stopWords || !STOP_WORDS.has(t)
  if (!opts.bigrams) return tokens.filter(keep)
  const out: string[] = []
  for (let i = 0; i + 1 < tokens.length; i++) {
    const a = tokens[i]!
    const b = tokens[i + 1]!
    if (keep(a) && keep(b)) out.push(`${a} ${b}`)
  }
  return out
}

/** True when the term's tokens appear consecutively in the caption's tokens. */
export function hasTerm(captionTokens: readonly string[], term: string): boolean {
  const want = tokenize(term)
  if (want.length === 0) return false
  outer: for (let i = 0; i + want.length <= captionTokens.length; i++) {
    for (let k = 0; k < want.length; k++) if (captionTokens[i + k] !== want[k]) continue outer
    return true
  }
  return false
}
