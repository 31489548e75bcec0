// Any Node process (pure). PTB-style caption tokenisation for the coco-caption metrics.
// [Note: tokenisation] coco-caption runs Stanford's PTBTokenizer (Java) with lower-casing and then drops
// punctuation tokens ('' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;). We cannot ship Java, so this
// is a small re-implementation of the parts that matter for captions:
//   - lower-case; curly quotes folded to ASCII;
//   - words are runs of letters/digits, joined by inner hyphens, periods, apostrophes or ampersands
//     ("black-and-white", "3.5", "at&t" stay one token, like PTB);
//   - PTB clitics are split off as their own tokens: "dog's" → "dog 's", "don't" → "do n't", "they're" →
//     "they 're" (also 'll 've 'd 'm);
//   - everything else (punctuation, brackets, quotes) is removed.
// It is not byte-identical to the Java tokenizer on every input (e.g. "u.s." loses its final period), but on
// lower-case words separated by spaces — every ShapesWorld caption — it is exactly the identity split.

const WORD = /[\p{L}\p{N}]+(?:[-.'&][\p{L}\p{N}]+)*/gu
const CLITIC = /^(.+?)(n't|'s|'re|'ll|'ve|'d|'m)$/

export function tokenize(text: string): string[] {
  const lower = text.toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'")
  const out: string[] = []
  for (const match of lower.matchAll(WORD)) {
    const word = match[0]
    const m = CLITIC.exec(word)
    if (m && m[1] && m[2]) {
      out.push(m[1], m[2])
    } else {
      out.push(word)
    }
  }
  return out
}
