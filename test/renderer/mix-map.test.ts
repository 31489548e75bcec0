// A pcm-net candidate's stored mix-up map read back for the heatmap (src/renderer/src/lib/mix-map.ts): cells
// per pooled patch, concepts coloured in order of first appearance, and malformed maps refused (null).
import { describe, expect, it } from 'vitest'
import type { Caption } from '../../src/shared/contract/captions'
import { MIX_PALETTE, mixMapOf, readMixMap } from '../../src/renderer/src/lib/mix-map'

const cand = (params: Record<string, unknown> | undefined): Caption => ({ id: 1, imageId: 1, text: 't', status: 'candidate', source: { kind: 'model', method: 'decoder', ...(params ? { params } : {}) }, scores: {}, parentId: null, createdAt: '', updatedAt: '' })

describe('mix-up map of a candidate', () => {
  it('marks each mixed patch with its concept and leaves the others unmixed', () => {
    const m = mixMapOf(cand({ decoderKind: 'pcm-net', mixMap: { grid: [2, 3], mixed: [{ patch: 4, concept: 'red' }, { patch: 1, concept: 'circle' }, { patch: 5, concept: 'red' }] } }))!
    expect(m.grid).toEqual([2, 3])
    expect(m.cells).toEqual([-1, 1, -1, -1, 0, 0])
    expect(m.concepts).toEqual([
      { word: 'red', colour: MIX_PALETTE[0], patches: 2 },
      { word: 'circle', colour: MIX_PALETTE[1], patches: 1 }
    ])
  })

  it('is null for candidates without a map, and for maps that do not fit their grid', () => {
    expect(mixMapOf(cand(undefined))).toBeNull()
    expect(mixMapOf(cand({ decoder: 'noise-0' }))).toBeNull()
    expect(mixMapOf(undefined)).toBeNull()
    expect(readMixMap({ grid: [2, 2], mixed: [{ patch: 4, concept: 'x' }] })).toBeNull()
    expect(readMixMap({ grid: [2, 2], mixed: [{ patch: -1, concept: 'x' }] })).toBeNull()
    expect(readMixMap({ grid: [2, 2], mixed: [{ patch: 1.5, concept: 'x' }] })).toBeNull()
    expect(readMixMap({ grid: [0, 2], mixed: [] })).toBeNull()
    expect(readMixMap({ grid: [1000, 1000], mixed: [] })).toBeNull()
    expect(readMixMap({ grid: [2], mixed: [] })).toBeNull()
    expect(readMixMap('nonsense')).toBeNull()
  })

  it('counts a patch listed twice once, under its last concept', () => {
    const m = readMixMap({ grid: [1, 2], mixed: [{ patch: 0, concept: 'a' }, { patch: 0, concept: 'b' }] })!
    expect(m.cells).toEqual([1, -1])
    expect(m.concepts.map((c) => [c.word, c.patches])).toEqual([['a', 0], ['b', 1]])
  })

  it('repeats colours past the palette but keeps every concept', () => {
    const mixed = Array.from({ length: 10 }, (_, i) => ({ patch: i, concept: `c${i}` }))
    const m = readMixMap({ grid: [4, 4], mixed })!
    expect(m.concepts).toHaveLength(10)
    expect(m.concepts[8]!.colour).toBe(m.concepts[0]!.colour)
    expect(new Set(m.concepts.slice(0, 8).map((c) => c.colour)).size).toBe(8)
  })
})
