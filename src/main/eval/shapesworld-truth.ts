// Any Node process (pure). The ShapesWorld truth checker: a TypeScript port of `caption_is_true` in
// tools/modelkit/shapesworld.py (which follows ../shared/specs/shapesworld.md, "Truth of a caption"), so the
// evaluation judges captions exactly as the model kit does when it writes the pack's metrics.
// [Note: the language] A caption is first parsed; anything outside the language is FALSE, so broken decoder
// output ("a picture of a picture of …", unknown or trailing words) never counts as true. Accepted forms:
//   count         (one|two|three) (shape|shapes|object|objects) BG?     — number agreement: one ↔ singular
//   single-count  "a single" BARE BG?
//   single        ("there is" | "a picture of")? NP BG?
//   conjunction   NP "and" NP BG?                                      — no prefix
//   relation      NP ("to the left of" | "to the right of" | "above" | "below") NP   — no prefix, no BG
//   NP := ("a" | "an") BARE with a/an agreeing with the next word ("an" before a vowel);
//   BARE := size? colour? shape;   BG := "on a" (gray|black|white) "background"
// Words are the lower-cased text with every character other than a-z, 0-9 and space replaced by a space.
// [Note: truth] A named background equals the scene's; a count equals n ("a single" → 1); a relation holds
// for some ordered pair of two distinct objects matching its noun phrases (left of: x_A < x_B, right of:
// x_A > x_B, above: y_A < y_B, below: y_A > y_B; y points down); otherwise every noun phrase matches some
// object (all the attributes it names; the two phrases of a conjunction may match the same object).
// test/unit/truth-crosscheck.test.ts compares this port with the Python checker on generated scenes.
export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond'] as const
export const SIZES = ['small', 'large'] as const
export const BACKGROUNDS = ['gray', 'black', 'white'] as const
export const HELD_OUT_PAIRS: readonly (readonly [string, string])[] = [
  ['red', 'circle'],
  ['green', 'square'],
  ['blue', 'triangle'],
  ['yellow', 'star'],
  ['purple', 'diamond']
]

export interface SceneObject {
  shape: string
  colour: string
  size: string
  x: number
  y: number
}

export interface Scene {
  background: string
  objects: SceneObject[]
}

export interface NounPhrase {
  size?: string
  colour?: string
  shape: string
}

export type Relation = 'left' | 'right' | 'above' | 'below'

export interface ParsedCaption {
  kind: 'count' | 'single-count' | 'single' | 'conjunction' | 'relation'
  nps: NounPhrase[]
  rel?: Relation
  count?: number
  background: string | null
}

const COUNT_WORDS: Record<string, number> = { one: 1, two: 2, three: 3 }
const COUNT_NOUNS = ['shape', 'shapes', 'object', 'objects']
const RELATIONS: [string[], Relation][] = [
  [['to', 'the', 'left', 'of'], 'left'],
  [['to', 'the', 'right', 'of'], 'right'],
  [['above'], 'above'],
  [['below'], 'below']
]

const isIn = (list: readonly string[], w: string | undefined): w is string => w !== undefined && list.includes(w)

/** The checker's words: lower-case, characters other than a-z, 0-9 and space become spaces. */
export function truthWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9 ]+/g, ' ')
    .split(' ')
    .filter((x) => x.length > 0)
}

const article = (next: string) => ('aeiou'.includes(next[0] ?? '') ? 'an' : 'a')

/** [article] size? colour? shape at w[i]; [noun phrase, next index] or null. */
function parseNP(w: readonly string[], i: number, withArticle = true): [NounPhrase, number] | null {
  const start = i
  if (withArticle) {
    if (w[i] !== 'a' && w[i] !== 'an') return null
    i++
  }
  const np: Partial<NounPhrase> = {}
  if (isIn(SIZES, w[i])) np.size = w[i++]
  if (isIn(COLOURS, w[i])) np.colour = w[i++]
  if (!isIn(SHAPES, w[i])) return null
  np.shape = w[i++]
  if (withArticle && w[start] !== article(w[start + 1]!)) return null
  return [np as NounPhrase, i]
}

/** Optional " on a {background} background" that must end the caption; [background, next] or null. */
function parseBg(w: readonly string[], i: number): [string | null, number] | null {
  if (i === w.length) return [null, i]
  if (w.length - i === 4 && w[i] === 'on' && w[i + 1] === 'a' && isIn(BACKGROUNDS, w[i + 2]) && w[i + 3] === 'background') return [w[i + 2]!, i + 4]
  return null
}

/** Parse a caption of the ShapesWorld language; null when it is not in it. */
export function parseCaption(caption: string): ParsedCaption | null {
  const w = truthWords(caption)
  if (w.length === 0) return null
  const w0 = w[0]!
  if (w.length >= 2 && w0 in COUNT_WORDS && isIn(COUNT_NOUNS, w[1])) {
    const n = COUNT_WORDS[w0]!
    if ((n === 1) !== (w[1] === 'shape' || w[1] === 'object')) return null
    const bg = parseBg(w, 2)
    return bg ? { kind: 'count', nps: [], count: n, background: bg[0] } : null
  }
  if (w.length >= 2 && w0 === 'a' && w[1] === 'single') {
    const p = parseNP(w, 2, false)
    const bg = p && parseBg(w, p[1])
    return p && bg ? { kind: 'single-count', nps: [p[0]], count: 1, background: bg[0] } : null
  }
  let i = 0
  let prefixed = false
  if (w0 === 'there' && w[1] === 'is') [i, prefixed] = [2, true]
  else if (w0 === 'a' && w[1] === 'picture' && w[2] === 'of') [i, prefixed] = [3, true]
  const p = parseNP(w, i)
  if (!p) return null
  const [np1, j] = p
  if (!prefixed && j < w.length) {
    if (w[j] === 'and') {
      const q = parseNP(w, j + 1)
      const bg = q && parseBg(w, q[1])
      return q && bg ? { kind: 'conjunction', nps: [np1, q[0]], background: bg[0] } : null
    }
    for (const [words, rel] of RELATIONS) {
      if (words.every((x, k) => w[j + k] === x)) {
        const q = parseNP(w, j + words.length)
        return q && q[1] === w.length ? { kind: 'relation', nps: [np1, q[0]], rel, background: null } : null
      }
    }
  }
  const bg = parseBg(w, j)
  return bg ? { kind: 'single', nps: [np1], background: bg[0] } : null
}

export function matches(np: NounPhrase, o: SceneObject): boolean {
  return np.shape === o.shape && (np.colour === undefined || np.colour === o.colour) && (np.size === undefined || np.size === o.size)
}

function relationHolds(rel: Relation, a: SceneObject, b: SceneObject): boolean {
  switch (rel) {
    case 'left':
      return a.x < b.x
    case 'right':
      return a.x > b.x
    case 'above':
      return a.y < b.y
    case 'below':
      return a.y > b.y
  }
}

export type Verdict = { true: true } | { true: false; reason: string }

export function judge(caption: string, scene: Scene): Verdict {
  const p = parseCaption(caption)
  if (!p) return { true: false, reason: 'not in the language' }
  if (p.background !== null && p.background !== scene.background) return { true: false, reason: 'background' }
  if (p.count !== undefined && p.count !== scene.objects.length) return { true: false, reason: 'count' }
  if (p.kind === 'relation') {
    const [a, b] = p.nps as [NounPhrase, NounPhrase]
    const ok = scene.objects.some((oa, i) => matches(a, oa) && scene.objects.some((ob, j) => i !== j && matches(b, ob) && relationHolds(p.rel!, oa, ob)))
    return ok ? { true: true } : { true: false, reason: 'relation' }
  }
  for (const np of p.nps) if (!scene.objects.some((o) => matches(np, o))) return { true: false, reason: 'no matching object' }
  return { true: true }
}

export function isTrue(caption: string, scene: Scene): boolean {
  return judge(caption, scene).true
}

/** The held-out colour–shape pair of a scene's objects, if any (test-heldout: the first object has one). */
export function heldOutPairs(scene: Scene): { colour: string; shape: string }[] {
  return scene.objects.filter((o) => HELD_OUT_PAIRS.some(([c, s]) => o.colour === c && o.shape === s)).map((o) => ({ colour: o.colour, shape: o.shape }))
}

/** True when the caption parses and names a held-out pair present in the scene with both colour and shape. */
export function namesHeldOutPair(caption: string, scene: Scene): boolean {
  const p = parseCaption(caption)
  if (!p) return false
  const pairs = heldOutPairs(scene)
  return p.nps.some((np) => np.colour !== undefined && pairs.some((h) => h.colour === np.colour && h.shape === np.shape))
}
