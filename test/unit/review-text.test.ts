// Unit: the text rules of the review domain. Find & replace builds new texts from sandboxed match records,
// so it is checked against the engine's own String.prototype.replace on many templates; terms are checked on
// Unicode, apostrophes, hyphens, stop words and bigrams.
import { describe, expect, it } from 'vitest'
import { clean, replaceAll } from '../../src/main/review/replace'
import { hasTerm, termsOf, tokenize } from '../../src/shared/terms'

const norm = (s: string) => s.replace(/\s+/g, ' ').trim()

describe('replaceAll', () => {
  const texts = ['a red square on a gray square', 'price: 10$ and 20$', 'éclair café crème', 'no match here at all', '  spaced   out  ']
  const cases: [string, string, string][] = [
    ['(\\w+) square', '$1 tile', ''],
    ['(?<c>red|gray) (square)', '$2 of $<c> [$&] <$`|$\'>', ''],
    ['(a)', '$1$2$01$10$0$$', ''],
    ['(x)?square', '[$1]', ''],
    ['(?<n>\\d+)\\$', '$<n> dollars $<missing>', ''],
    ['É', 'E', 'i'],
    ['\\s+', ' ', ''],
    ['^', '> ', 'm'],
    ['', '.', ''],
    ['(a)(b)?(c)?(d)?(e)?(f)?(g)?(h)?(i)?(j)?(k)?', '$11|$1$10', '']
  ]
  for (const [find, replace, flags] of cases) {
    it(`matches String.prototype.replace for /${find}/${flags} → ${replace}`, () => {
      const out = replaceAll(texts, { find, replace, regex: true, flags })
      texts.forEach((t, k) => {
        const re = new RegExp(find, `g${flags}`)
        const native = t.replace(re, replace)
        const o = out[k]
        if (!re.test(t)) return expect(o).toBeNull()
        expect(o?.after).toBe(norm(native))
      })
    })
  }

  it('literal mode escapes the pattern and inserts the replacement verbatim', () => {
    const [o] = replaceAll(['cost (a+b)* $1'], { find: '(a+b)*', replace: '$& $1 $$', regex: false, flags: '' })
    expect(o?.after).toBe('cost $& $1 $$ $1')
    expect(replaceAll(['A a'], { find: 'a', replace: 'b', regex: false, flags: 'i' })[0]?.after).toBe('b b')
  })

  it('spans point at the matches before and the insertions after, through whitespace clean-up', () => {
    const before = 'one  two three two'
    const [o] = replaceAll([before], { find: 'two', replace: ' 2 ', regex: false, flags: '' })
    expect(o!.after).toBe('one 2 three 2')
    expect(o!.beforeSpans.map(([s, e]) => before.slice(s, e))).toEqual(['two', 'two'])
    expect(o!.afterSpans.map(([s, e]) => o!.after.slice(s, e))).toEqual(['2', '2'])
  })

  it('clean() maps raw positions onto the collapsed text without letting spans grow a space', () => {
    const raw = '  a   b '
    const c = clean(raw)
    expect(c.text).toBe('a b')
    // A span over "   b" (raw 3..7) is just "b"; over "a   " (raw 2..6) just "a".
    expect(c.text.slice(c.start[3], c.end[7])).toBe('b')
    expect(c.text.slice(c.start[2], c.end[6])).toBe('a')
    expect([c.start[0], c.end[0], c.start[8], c.end[8]]).toEqual([0, 0, 3, 3])
  })
})

describe('terms', () => {
  it('tokenizes letters and digits of any script, keeping inner apostrophes and hyphens', () => {
    expect(tokenize("The DOG's close-up, 2 Cafés — naïve 'quoted'")).toEqual(["the", "dog's", 'close-up', '2', 'cafés', 'naïve', 'quoted'])
    expect(tokenize('l’arbre')).toEqual(["l'arbre"])
  })

  it('drops stop words, and bigrams that contain one', () => {
    const text = 'A red square on the gray background'
    expect(termsOf(text, { stopWords: true, bigrams: false })).toEqual(['red', 'square', 'gray', 'background'])
    expect(termsOf(text, { stopWords: false, bigrams: false })).toHaveLength(7)
    expect(termsOf(text, { stopWords: true, bigrams: true })).toEqual(['red square', 'gray background'])
    expect(termsOf(text, { stopWords: false, bigrams: true })).toContain('square on')
  })

  it('a caption has a term when its tokens occur consecutively', () => {
    const t = tokenize('A red square, next to a Red-circle')
    expect(hasTerm(t, 'red square')).toBe(true)
    expect(hasTerm(t, 'RED')).toBe(true)
    expect(hasTerm(t, 'square red')).toBe(false)
    expect(hasTerm(t, 'circle')).toBe(false)
    expect(hasTerm(t, 'red-circle')).toBe(true)
    expect(hasTerm(t, '  ')).toBe(false)
  })
})
