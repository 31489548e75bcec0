// Unit tests (Node): the ShapesWorld truth checker on hand-made scenes.
import { describe, expect, it } from 'vitest'
import { heldOutPairs, isTrue, judge, namesHeldOutPair, parseCaption, type Scene } from '../../src/main/eval/shapesworld-truth'

// Gray background; a large red square on the left (x 15), a small blue star on the right and lower (x 48, y 50),
// a small green circle at the top middle (x 30, y 10). y points down.
const scene3: Scene = {
  background: 'gray',
  objects: [
    { shape: 'square', colour: 'red', size: 'large', x: 15, y: 30 },
    { shape: 'star', colour: 'blue', size: 'small', x: 48, y: 50 },
    { shape: 'circle', colour: 'green', size: 'small', x: 30, y: 10 }
  ]
}
const scene1: Scene = { background: 'black', objects: [{ shape: 'circle', colour: 'red', size: 'small', x: 32, y: 32 }] }

describe('parseCaption', () => {
  it('parses every caption form of the grammar', () => {
    expect(parseCaption('a red square')).toEqual({ kind: 'single', nps: [{ colour: 'red', shape: 'square' }], background: null })
    expect(parseCaption('there is a large red square on a gray background')).toEqual({ kind: 'single', nps: [{ size: 'large', colour: 'red', shape: 'square' }], background: 'gray' })
    expect(parseCaption('a picture of an orange diamond')?.nps).toEqual([{ colour: 'orange', shape: 'diamond' }])
    expect(parseCaption('a red square to the left of a blue star')?.rel).toBe('left')
    expect(parseCaption('a star below a circle')?.rel).toBe('below')
    expect(parseCaption('a red square and a small star on a gray background')).toMatchObject({ kind: 'conjunction', background: 'gray' })
    expect(parseCaption('a single small red circle')).toEqual({ kind: 'single-count', nps: [{ size: 'small', colour: 'red', shape: 'circle' }], count: 1, background: null })
    expect(parseCaption('one shape on a black background')).toEqual({ kind: 'count', nps: [], count: 1, background: 'black' })
    expect(parseCaption('three objects')).toEqual({ kind: 'count', nps: [], count: 3, background: null })
    expect(parseCaption('two shapes on a white background')).toMatchObject({ count: 2, background: 'white' })
  })
  it('refuses broken or out-of-language text', () => {
    const bad = [
      '',
      'a picture of a picture of a red square',
      'a red square a blue star',
      'a red',
      'red square',
      'a red square on a gray',
      'a red square to the left of',
      'two red squares',
      'a red square on a pink background',
      'a red square and',
      'an red square', // article agreement
      'a orange circle',
      'one shapes', // number agreement
      'two shape',
      'there is a red square to the left of a blue star', // no prefix before a relation
      'a picture of a red square and a blue star', // nor before a conjunction
      'a red square to the left of a blue star on a gray background' // no background after a relation
    ]
    for (const b of bad) expect(parseCaption(b), b).toBeNull()
  })
})

describe('judge (truth of a caption)', () => {
  it('requires every named attribute of a noun phrase to match one object', () => {
    expect(isTrue('a red square', scene3)).toBe(true)
    expect(isTrue('a large red square', scene3)).toBe(true)
    expect(isTrue('a square', scene3)).toBe(true)
    expect(isTrue('a small red square', scene3)).toBe(false) // the red square is large
    expect(isTrue('a red star', scene3)).toBe(false) // attributes split across two objects
    expect(isTrue('a purple triangle', scene3)).toBe(false)
  })
  it('checks a named background', () => {
    expect(isTrue('a blue star on a gray background', scene3)).toBe(true)
    expect(judge('a blue star on a white background', scene3)).toEqual({ true: false, reason: 'background' })
  })
  it('checks count words and "single"', () => {
    expect(isTrue('three shapes', scene3)).toBe(true)
    expect(isTrue('three objects on a gray background', scene3)).toBe(true)
    expect(judge('two objects', scene3)).toEqual({ true: false, reason: 'count' })
    expect(isTrue('a single red square', scene3)).toBe(false) // n = 3
    expect(isTrue('a single small red circle', scene1)).toBe(true)
    expect(isTrue('a single large red circle', scene1)).toBe(false)
    expect(isTrue('one shape on a black background', scene1)).toBe(true)
    expect(isTrue('one object', scene3)).toBe(false)
  })
  it('checks relations between two distinct matching objects with y pointing down', () => {
    // square x 15 < star x 48 → left; star y 50 > circle y 10 → star below circle, circle above star
    expect(isTrue('a red square to the left of a blue star', scene3)).toBe(true)
    expect(isTrue('a blue star to the right of a red square', scene3)).toBe(true)
    expect(judge('a blue star to the left of a red square', scene3)).toEqual({ true: false, reason: 'relation' })
    expect(isTrue('a green circle above a blue star', scene3)).toBe(true)
    expect(isTrue('a blue star below a small circle', scene3)).toBe(true)
    expect(isTrue('a blue star above a green circle', scene3)).toBe(false)
    // some pair suffices: "a small shape left of another small one" — circle (x 30) left of star (x 48)
    expect(isTrue('a small circle to the left of a small star', scene3)).toBe(true)
    // an object is never related to itself
    expect(isTrue('a circle to the left of a circle', scene1)).toBe(false)
    // both noun phrases must exist
    expect(isTrue('a red square to the left of a yellow star', scene3)).toBe(false)
  })
  it('checks each noun phrase of a conjunction', () => {
    expect(isTrue('a red square and a small blue star', scene3)).toBe(true)
    expect(isTrue('a red square and a large blue star', scene3)).toBe(false)
    expect(isTrue('a green circle and a red square on a black background', scene3)).toBe(false)
  })
  it('is insensitive to case and punctuation, but not to garbage', () => {
    expect(isTrue('A red square, to the left of a blue star.', scene3)).toBe(true)
    expect(isTrue('a red square to the left of a blue-star', scene3)).toBe(true) // '-' becomes a space
    expect(judge('a picture of a picture of a red square', scene3)).toEqual({ true: false, reason: 'not in the language' })
  })
})

describe('held-out pairs', () => {
  it('finds the held-out colour–shape pairs and whether a caption names one', () => {
    expect(heldOutPairs(scene1)).toEqual([{ colour: 'red', shape: 'circle' }])
    expect(heldOutPairs(scene3)).toEqual([])
    expect(namesHeldOutPair('a red circle on a black background', scene1)).toBe(true)
    expect(namesHeldOutPair('a circle', scene1)).toBe(false) // colour not named
    expect(namesHeldOutPair('a red square', scene1)).toBe(false)
  })
})
