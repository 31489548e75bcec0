import { describe, expect, it } from 'vitest'
import { isHeldOut, meanAclipS, splitPairs } from '../../src/main/analysis/refit'
import { fitRealignment } from '../../src/main/engine/worker'

describe('refit split and measurement', () => {
  it('splits deterministically by image id, about the requested share, never leaving a side empty', () => {
    const pairs = Array.from({ length: 1000 }, (_, i) => ({ imageId: i + 1 }))
    const a = splitPairs(pairs, 0.2)
    const b = splitPairs(pairs, 0.2)
    expect(a.test.map((p) => p.imageId)).toEqual(b.test.map((p) => p.imageId))
    expect(a.test.length).toBeGreaterThan(150)
    expect(a.test.length).toBeLessThan(250)
    expect(a.train.length + a.test.length).toBe(1000)
    for (const p of a.test) expect(isHeldOut(p.imageId, 0.2)).toBe(true)
    const tiny = splitPairs([{ imageId: 1 }, { imageId: 2 }], 0.2)
    expect(tiny.train.length).toBe(1)
    expect(tiny.test.length).toBe(1)
  })

  it('a fitted realignment raises held-out aCLIP-S when images are a rotation of their captions', () => {
    // Texts: random unit vectors in 4-d; images: the same vectors rotated by 90° in the (0,1) plane.
    const rnd = (i: number) => Math.sin(i * 78.233) * 43758.5453 % 1
    const texts = Array.from({ length: 60 }, (_, i) => Float32Array.from([rnd(i), rnd(i + 100), rnd(i + 200), rnd(i + 300)]))
    const images = texts.map((t) => Float32Array.from([-t[1]!, t[0]!, t[2]!, t[3]!]))
    const train = Array.from({ length: 40 }, (_, i) => ({ image: images[i]!, text: texts[i]! }))
    const r = fitRealignment(train, 'procrustes')
    const before = meanAclipS(images.slice(40), texts.slice(40), null)
    const after = meanAclipS(images.slice(40), texts.slice(40), r)
    expect(after).toBeGreaterThan(before)
    expect(after).toBeCloseTo(2.5, 2)
  })
})
