// XMP write-back (xmp-merge.ts) checked by ExifTool as the independent reader: a fresh sidecar, and merges
// into sidecars ExifTool writes as digiKam and Lightroom would — the description and keywords read back as
// set, every other field reads back unchanged, and the text outside the edited properties is byte-for-byte
// the original.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { mergeXmp, newXmp } from '../../src/main/interop/xmp-merge'
import { exifJson, exiftool, SAMPLE_DIR } from '../fixtures/photos'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'studio-xmpmerge-'))
})

function readBack(xml: string, name: string): Record<string, unknown> {
  const f = join(dir, name)
  writeFileSync(f, xml)
  const j = exifJson(f, ['-XMP:all'])
  delete j.SourceFile
  return j
}

/** ExifTool's view of a sidecar minus the two properties the studio writes. */
function others(tags: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !/^XMP-dc:(Description|Subject)/.test(k)))
}

const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String)

describe('a fresh sidecar', () => {
  it('reads back in ExifTool with non-ASCII and markup characters', () => {
    const tags = readBack(newXmp({ description: 'A <red> cat & a "dog" — Été', descriptionMode: 'set', keywords: ['chat', 'Été', 'a&b'] }), 'fresh.xmp')
    expect(tags['XMP-dc:Description']).toBe('A <red> cat & a "dog" — Été')
    expect(list(tags['XMP-dc:Subject'])).toEqual(['chat', 'Été', 'a&b'])
  })
})

describe('merging into a digiKam-style sidecar', () => {
  let orig: string
  beforeAll(() => {
    const f = join(dir, 'dk.xmp')
    exiftool([
      '-o', f,
      '-XMP-dc:Description=Alte Beschreibung', '-XMP-dc:Description-de=Eine Katze', '-XMP-dc:Subject=chat', '-XMP-dc:Subject=Tier',
      '-XMP-digiKam:TagsList=Tiere/Katzen', '-XMP-lr:HierarchicalSubject=Tiere|Katzen', '-XMP-xmp:Rating=4', '-XMP-dc:Creator=Ève', '-XMP-photoshop:City=Zürich',
      join(SAMPLE_DIR, 'chelsea.png')
    ])
    orig = readFileSync(f, 'utf8')
  })

  it('sets x-default, keeps the other language, adds only missing keywords, keeps every other field', () => {
    const before = readBack(orig, 'dk-before.xmp')
    const { xml, changed } = mergeXmp(orig, { description: 'a ginger cat looking up', descriptionMode: 'set', keywords: ['CHAT', 'ginger cat', 'Été'] })
    expect(changed).toBe(true)
    const after = readBack(xml, 'dk-after.xmp')
    expect(after['XMP-dc:Description']).toBe('a ginger cat looking up')
    expect(after['XMP-dc:Description-de']).toBe('Eine Katze')
    expect(list(after['XMP-dc:Subject'])).toEqual(['chat', 'Tier', 'ginger cat', 'Été'])
    expect(others(after)).toEqual(others(before))
    expect(Object.keys(others(before)).length).toBeGreaterThan(20)
    // Byte-for-byte outside the two properties.
    const head = orig.slice(0, orig.indexOf('<dc:description>'))
    const tail = orig.slice(orig.indexOf('</dc:subject>') + '</dc:subject>'.length)
    expect(xml.startsWith(head)).toBe(true)
    expect(xml.endsWith(tail)).toBe(true)
    expect(xml.length - orig.length).toBeLessThan(200)
  })

  it('ifMissing keeps an existing description; the same content again changes nothing', () => {
    const keep = mergeXmp(orig, { description: 'other', descriptionMode: 'ifMissing', keywords: [] })
    expect(keep).toEqual({ xml: orig, changed: false })
    const once = mergeXmp(orig, { description: 'x', descriptionMode: 'set', keywords: ['k'] }).xml
    expect(mergeXmp(once, { description: 'x', descriptionMode: 'set', keywords: ['k', 'chat'] })).toEqual({ xml: once, changed: false })
  })
})

describe('merging into a Lightroom shorthand sidecar without dc fields', () => {
  it('adds a new rdf:Description with the caption and keywords; all other fields unchanged', () => {
    const f = join(dir, 'lr.xmp')
    exiftool(['-api', 'Compact=Shorthand', '-o', f, '-XMP-dc:all=', '-XMP-xmp:Rating=5', '-XMP-photoshop:Headline=Deep field', join(SAMPLE_DIR, 'hubble_deep_field.jpg')])
    const orig = readFileSync(f, 'utf8')
    expect(orig).not.toContain('dc:description')
    const before = readBack(orig, 'lr-before.xmp')
    const { xml } = mergeXmp(orig, { description: 'galaxies, thousands of them', descriptionMode: 'set', keywords: ['space', 'Hubble'] })
    const after = readBack(xml, 'lr-after.xmp')
    expect(after['XMP-dc:Description']).toBe('galaxies, thousands of them')
    expect(list(after['XMP-dc:Subject'])).toEqual(['space', 'Hubble'])
    expect(others(after)).toEqual(others(before))
    const cut = orig.lastIndexOf('</rdf:RDF>')
    expect(xml.startsWith(orig.slice(0, orig.lastIndexOf('/>', cut) + 2))).toBe(true)
    expect(xml.endsWith(orig.slice(cut))).toBe(true)
  })
})

describe('other writers’ forms', () => {
  const wrap = (body: string, descAttrs = '') =>
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"${descAttrs}>${body}</rdf:Description></rdf:RDF></x:xmpmeta>`

  it('a one-line packet: plain-literal description, self-closing Bag, Alt without x-default', () => {
    const cases = [
      wrap('<dc:description>old literal</dc:description><dc:subject><rdf:Bag/></dc:subject>', ' xmp:Rating="2"'),
      wrap('<dc:description><rdf:Alt><rdf:li xml:lang="fr">une fusée</rdf:li></rdf:Alt></dc:description><dc:subject><rdf:Seq><rdf:li>one</rdf:li></rdf:Seq></dc:subject>'),
      wrap('<dc:title><rdf:Alt><rdf:li xml:lang="x-default">T</rdf:li></rdf:Alt></dc:title>'),
      wrap('<dc:description><rdf:Alt><rdf:li xml:lang="x-default"/></rdf:Alt></dc:description>')
    ]
    cases.forEach((orig, k) => {
      const { xml } = mergeXmp(orig, { description: 'new & improved', descriptionMode: 'set', keywords: ['two', 'one'] })
      const t = readBack(xml, `form-${k}.xmp`)
      expect(t['XMP-dc:Description']).toBe('new & improved')
      expect(list(t['XMP-dc:Subject']).sort()).toEqual(['one', 'two'])
      if (k === 0) expect(t['XMP-xmp:Rating']).toBe(2)
      if (k === 1) expect(t['XMP-dc:Description-fr']).toBe('une fusée')
      if (k === 2) expect(t['XMP-dc:Title']).toBe('T')
    })
  })

  it('refuses what it cannot merge without rewriting: attribute-form description, malformed XML, no rdf:RDF', () => {
    expect(() => mergeXmp(wrap('', ' dc:description="attr"'), { description: 'x', descriptionMode: 'set', keywords: [] })).toThrow(/written as an attribute; left untouched/)
    expect(() => mergeXmp(wrap('<dc:subject>'), { description: 'x', descriptionMode: 'set', keywords: [] })).toThrow(/not well-formed/)
    expect(() => mergeXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>', { description: 'x', descriptionMode: 'set', keywords: [] })).toThrow(/no rdf:RDF/)
  })
})
