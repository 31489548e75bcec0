// Unit tests (Node): loading references and scenes in the accepted formats.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadRefs, parseRefs, parseScenes } from '../../src/main/eval/dataset'
import { tempDir } from '../fixtures/images'

describe('refs', () => {
  it('reads {"file_name": [captions…]}, keyed by base name', () => {
    const r = parseRefs({ 'test/a.png': ['a red square', 'two shapes'], 'b.png': ['a star'] })
    expect(r.get('a.png')).toEqual(['a red square', 'two shapes'])
    expect(r.get('b.png')).toEqual(['a star'])
  })
  it('reads COCO captions JSON, grouping annotations by image', () => {
    const r = parseRefs({
      images: [{ id: 7, file_name: 'x/000007.png' }, { id: 9, file_name: '000009.png' }],
      annotations: [
        { image_id: 7, id: 1, caption: 'a red square' },
        { image_id: 9, id: 2, caption: 'a blue star' },
        { image_id: 7, id: 3, caption: 'one shape on a gray background' }
      ]
    })
    expect(r.get('000007.png')).toEqual(['a red square', 'one shape on a gray background'])
    expect(r.get('000009.png')).toEqual(['a blue star'])
  })
  it('names the file and entry when the format is wrong', () => {
    const dir = tempDir('refs')
    const p = join(dir, 'bad.json')
    writeFileSync(p, JSON.stringify({ 'a.png': 'not a list' }))
    expect(() => loadRefs(p)).toThrow(/bad\.json: "a\.png" is not a list/)
    writeFileSync(p, '{oops')
    expect(() => loadRefs(p)).toThrow(/cannot read JSON/)
  })
})

describe('scenes', () => {
  const obj = { shape: 'circle', color: 'red', size: 'small', cx: 10.5, cy: 20 }
  it('accepts a map, a list, and alternative key spellings', () => {
    const a = parseScenes({ 'a.png': { background: 'gray', objects: [obj] } })
    const b = parseScenes([{ file_name: 'dir/a.png', bg: 'gray', objects: [{ shape: 'circle', colour: 'red', size: 'small', x: 10.5, y: 20 }] }])
    const c = parseScenes({ scenes: { 'a.png': { background: 'gray', objects: [{ shape: 'circle', colour: 'red', size: 'small', center: [10.5, 20] }] } } })
    const want = { background: 'gray', objects: [{ shape: 'circle', colour: 'red', size: 'small', x: 10.5, y: 20 }] }
    expect(a.get('a.png')).toEqual(want)
    expect(b.get('a.png')).toEqual(want)
    expect(c.get('a.png')).toEqual(want)
  })
  it('refuses objects without coordinates', () => {
    expect(() => parseScenes({ 'a.png': { background: 'gray', objects: [{ shape: 'circle', colour: 'red', size: 'small' }] } })).toThrow(/a\.png: object 0 needs/)
  })
})
