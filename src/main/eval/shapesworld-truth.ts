// Any Node process (pure). The ShapesWorld truth checker, ported from ../shared/specs/shapesworld.md
// ("Truth of a caption") to TypeScript so the evaluation can judge generated captions without Python.
// [Note: parsing] A caption is first parsed with the caption grammar of the spec:
//   S      := PREFIX? CORE BG?          PREFIX := "there is" | "a picture of"     BG := "on a" bg "background"
//   CORE   := NP | NP REL NP | NP "and" NP | "a single" BARE | "one" (shape|object) | (two|three) (shapes|objects)
//   NP     := (a|an) BARE               BARE := size? colour? shape          REL := "to the left of" | …
// Combinations of optional parts that the generator never emits together (e.g. a background suffix after a
// relation) are accepted: they still have a clear meaning. The article's a/an agreement is not checked (it
// carries no meaning). Anything that does not parse — broken decoder output such as "a picture of a picture
// of …", unknown words, trailing words — is FALSE: fluent-looking garbage must not count as true.
// [Note: truth] Per the spec: every noun phrase matches some object (all attributes it names); a named
// background equals the scene's; a count word equals n; "single" implies n = 1; a relation holds between some
// ordered pair of two distinct matching objects (left of: x_A < x_B, right of: x_A > x_B, above: y_A < y_B,
// below: y_A > y_B; y points down). For "A and B" each noun phrase only needs to match some object (the spec's
// wording; the two may match the same object).
import { tokenize } from './metrics/tokenize'

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
  nps: NounPhrase[]
  relation?: { a: NounPhrase; b: NounPhrase; rel: Relation }
  count?: number
  background?: string
}

const isIn = (list: readonly string[], w: string | undefined): w is string => w !== undefined && list.includes(w)

class Cursor {
  constructor(
    readonly toks: readonly string[],
    public i = 0
  ) {}
  peek(k = 0): string | undefined {
    return this.toks[this.i + k]
  }
  /** Consume the given words if they come next. */
  eat(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (this.toks[this.i + k] !== words[k]) return false
    this.i += words.length
    return true
  }
  get done(): boolean {
    return this.i >= this.toks.length
  }
}

function parseBare(c: Cursor): NounPhrase | null {
  const start = c.i
  const np: Partial<NounPhrase> = {}
  if (isIn(SIZES, c.peek())) np.size = c.toks[c.i++]
  if (isIn(COLOURS, c.peek())) np.colour = c.toks[c.i++]
  if (isIn(SHAPES, c.peek())) {
    np.shape = c.toks[c.i++]
    return np as NounPhrase
  }
  c.i = start
  return null
}

function parseNP(c: Cursor): NounPhrase | null {
  const start = c.i
  if (c.eat('a') || c.eat('an')) {
    const np = parseBare(c)
    if (np) return np
  }
  c.i = start
  return null
}

function parseRel(c: Cursor): Relation | null {
  if (c.eat('to', 'the', 'left', 'of')) return 'left'
  if (c.eat('to', 'the', 'right', 'of')) return 'right'
  if (c.eat('above')) return 'above'
  if (c.eat('below')) return 'below'
  return null
}

function parseCore(c: Cursor): ParsedCaption | null {
  const start = c.i
  if (c.eat('a', 'single')) {
    const np = parseBare(c)
    if (np) return { nps: [np], count: 1 }
    c.i = start
    return null
  }
  if (c.eat('one')) {
    if (c.eat('shape') || c.eat('object')) return { nps: [], count: 1 }
    c.i = start
    return null
  }
  const countWord = c.peek()
  if (countWord === 'two' || countWord === 'three') {
    c.i++
    if (c.eat('shapes') || c.eat('objects')) return { nps: [], count: countWord === 'two' ? 2 : 3 }
    c.i = start
    return null
  }
  const a = parseNP(c)
  if (!a) return null
  const afterA = c.i
  const rel = parseRel(c)
  if (rel) {
    const b = parseNP(c)
    if (b) return { nps: [a, b], relation: { a, b, rel } }
    c.i = afterA
    return null
  }
  if (c.eat('and')) {
    const b = parseNP(c)
    if (b) return { nps: [a, b] }
    c.i = afterA
    return null
  }
  return { nps: [a] }
}

function parseWithPrefix(toks: readonly string[], prefix: string[]): ParsedCaption | null {
  const c = new Cursor(toks)
  if (prefix.length > 0 && !c.eat(...prefix)) return null
  const core = parseCore(c)
  if (!core) return null
  if (c.eat('on', 'a') || c.eat('on', 'an')) {
    const bg = c.peek()
    if (!isIn(BACKGROUNDS, bg)) return null
    c.i++
    if (!c.eat('background')) return null
    core.background = bg
  }
  return c.done ? core : null
}

/** Parse a caption with the ShapesWorld grammar; null when it does not parse. */
export function parseCaption(caption: string): ParsedCaption | null {
  const toks = tokenize(caption)
  if (toks.length === 0) return null
  return parseWithPrefix(toks, ['there', 'is']) ?? parseWithPrefix(toks, ['a', 'picture', 'of']) ?? parseWithPrefix(toks, [])
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
  if (!p) return { true: false, reason: 'does not parse' }
  if (p.background !== undefined && p.background !== scene.background) return { true: false, reason: 'background' }
  if (p.count !== undefined && p.count !== scene.objects.length) return { true: false, reason: 'count' }
  for (const np of p.nps) if (!scene.objects.some((o) => matches(np, o))) return { true: false, reason: 'no matching object' }
  if (p.relation) {
    const { a, b, rel } = p.relation
    const ok = scene.objects.some((oa, i) => matches(a, oa) && scene.objects.some((ob, j) => i !== j && matches(b, ob) && relationHolds(rel, oa, ob)))
    if (!ok) return { true: false, reason: 'relation' }
  }
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
