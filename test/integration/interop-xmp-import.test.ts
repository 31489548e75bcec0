// Import of XMP sidecars and of metadata embedded in images, both written by ExifTool the way digiKam,
// darktable and Lightroom write them (other namespaces and fields, non-ASCII text, RDF Alt/Bag/Seq, the
// attribute shorthand, photo.jpg.xmp and photo.xmp naming), into a library of real photos.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Caption } from '../../src/shared/contract/captions'
import type { ImportSummary } from '../../src/shared/contract/interop'
import type { ImageSummary } from '../../src/shared/contract/library'
import type { Tag } from '../../src/shared/contract/review'
import { createServices, type Services } from '../../src/main/services/services'
import { tempDir } from '../fixtures/images'
import { bytesOf, copyPhotos, exiftool } from '../fixtures/photos'

let root: string
let services: Services
let ids: Map<string, number>
let originals: Map<string, Buffer>

const LAYOUT = {
  'dk/chelsea.png': 'chelsea.png',
  'lr/hubble.jpg': 'hubble_deep_field.jpg',
  'both/coffee.png': 'coffee.png',
  'hier/astronaut.png': 'astronaut.png',
  'hand/rocket.jpg': 'rocket.jpg',
  'emb/rocket.jpg': 'rocket.jpg',
  'emb/iptc-utf8.jpg': 'retina.jpg',
  'emb/iptc-latin1.jpg': 'hubble_deep_field.jpg',
  'emb/usercomment.jpg': 'rocket.jpg',
  'emb/placeholder.jpg': 'retina.jpg',
  'emb/cat.png': 'chelsea.png',
  'emb/plain.png': 'coins.png'
}

const run = (req: Record<string, unknown>, applyIt = true) => services.call(applyIt ? 'interop.importApply' : 'interop.importPreview', req) as Promise<ImportSummary>
const accepted = async (rel: string) => ((await services.call('captions.forImage', { imageId: ids.get(rel)! })) as { accepted: Caption | null }).accepted
const keywordsOf = async (rel: string) => ((await services.call('review.tagsOf', { imageId: ids.get(rel)! })) as { tags: Tag[] }).tags.filter((t) => t.kind === 'keyword').map((t) => t.tag).sort()

beforeAll(async () => {
  root = tempDir('xmpimp-lib')
  copyPhotos(root, LAYOUT)
  const p = (rel: string) => join(root, rel)
  // digiKam/darktable naming, with its own namespaces, a second language and hierarchical tags.
  exiftool([
    '-o', p('dk/chelsea.png.xmp'),
    '-XMP-dc:Description-de=Eine rote Katze schaut nach oben', '-XMP-dc:Description=Une chatte rousse — Chelsea',
    '-XMP-dc:Subject=chat', '-XMP-dc:Subject=Été', '-XMP-digiKam:TagsList=Tiere/Katzen/Chelsea', '-XMP-lr:HierarchicalSubject=Tiere|Katzen|Chelsea',
    '-XMP-xmp:Rating=4', '-XMP-dc:Creator=Ève Photographe', p('dk/chelsea.png')
  ])
  // Lightroom naming and its attribute shorthand; the sidecar carries the photo's own metadata too.
  exiftool(['-api', 'Compact=Shorthand', '-o', p('lr/hubble.xmp'), '-XMP-dc:Description=Hubble Ultra Deep Field', '-XMP-dc:Subject=space', '-XMP-dc:Subject=galaxies', '-XMP-xmp:Rating=5', p('lr/hubble.jpg')])
  // Both namings for one photo: the full-name sidecar wins.
  exiftool(['-o', p('both/coffee.png.xmp'), '-XMP-dc:Description=a cup of coffee (darktable)', p('both/coffee.png')])
  exiftool(['-o', p('both/coffee.xmp'), '-XMP-dc:Description=a cup of coffee (lightroom)', p('both/coffee.png')])
  // Only hierarchical keywords: their leaves become keywords.
  exiftool(['-o', p('hier/astronaut.png.xmp'), '-XMP-lr:HierarchicalSubject=People|Astronauts|Eileen Collins', '-XMP-digiKam:TagsList=Places/Space', p('hier/astronaut.png')])
  // Written by some other tool: x-default not first, keywords as a Seq, entities and character references.
  writeFileSync(
    p('hand/rocket.jpg.xmp'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
      `<rdf:Description rdf:about="" xmlns:d="http://purl.org/dc/elements/1.1/"><d:description><rdf:Alt><rdf:li xml:lang="fr">une fusée</rdf:li>` +
      `<rdf:li xml:lang="x-default">Rocket &amp; tower &#x2014; at dawn</rdf:li></rdf:Alt></d:description>` +
      `<d:subject><rdf:Seq><rdf:li>rocket</rdf:li><rdf:li>Rocket</rdf:li><rdf:li>launch &lt;pad&gt;</rdf:li></rdf:Seq></d:subject></rdf:Description></rdf:RDF></x:xmpmeta>`
  )
  // Embedded metadata.
  exiftool(['-overwrite_original', '-XMP-dc:Description=Falcon on the pad', '-XMP-dc:Subject=rocket', '-IPTC:Caption-Abstract=iptc loses to xmp', '-IPTC:Keywords=launch', '-EXIF:ImageDescription=exif loses too', p('emb/rocket.jpg')])
  exiftool(['-overwrite_original', '-charset', 'iptc=UTF8', '-IPTC:CodedCharacterSet=UTF8', '-IPTC:Caption-Abstract=Netzhaut, Aufnahme über Fundus', '-IPTC:Keywords=Auge', '-IPTC:Keywords=Netzhaut', p('emb/iptc-utf8.jpg')])
  exiftool(['-overwrite_original', '-XMP:all=', '-charset', 'iptc=Latin', '-IPTC:Caption-Abstract=Café au lait galaxies', p('emb/iptc-latin1.jpg')])
  exiftool(['-overwrite_original', '-EXIF:UserComment=a rocket, ünïcode comment', p('emb/usercomment.jpg')])
  exiftool(['-overwrite_original', '-EXIF:ImageDescription=OLYMPUS DIGITAL CAMERA         ', p('emb/placeholder.jpg')])
  exiftool(['-overwrite_original', '-XMP-dc:Description=Chelsea the cat, in a PNG', '-XMP-dc:Subject=cat', p('emb/cat.png')])
  originals = bytesOf(Object.keys(LAYOUT).map((r) => join(root, r)))
  services = createServices(tempDir('xmpimp-data'), 'cli')
  await services.call('library.addRoot', { path: root })
  await services.call('library.waitForScans', {})
  const list = (await services.call('library.listIds', {})) as { ids: number[] }
  ids = new Map(((await services.call('library.getImages', { ids: list.ids })) as ImageSummary[]).map((s) => [s.relPath, s.id]))
})

afterAll(async () => {
  for (const [file, bytes] of originals) expect(readBack(file).equals(bytes)).toBe(true)
  await services.close()
})

function readBack(file: string): Buffer {
  return bytesOf([file]).get(file)!
}

describe('XMP sidecars', () => {
  it('reads description (x-default first), subject and hierarchical leaves from every naming and form', async () => {
    const pre = await run({ format: 'xmp', path: root }, false)
    expect(pre).toMatchObject({ files: 6, images: 5, newCaptions: 4, unmatched: 1, errors: 0 })
    expect(pre.unmatchedList[0]).toMatchObject({ file: 'both/coffee.xmp', message: expect.stringMatching(/coffee\.png\.xmp is used/) })
    const r = await run({ format: 'xmp', path: root })
    expect(r.newCaptions).toBe(4)

    expect(await accepted('dk/chelsea.png')).toMatchObject({ text: 'Une chatte rousse — Chelsea', source: { method: 'imported:xmp', params: { file: 'dk/chelsea.png.xmp' } } })
    expect(await keywordsOf('dk/chelsea.png')).toEqual(['Chelsea', 'chat', 'Été'])
    expect((await accepted('lr/hubble.jpg'))!.text).toBe('Hubble Ultra Deep Field')
    // Keywords compare case-insensitively and take the spelling the library already has (astronaut's "Space").
    expect(await keywordsOf('lr/hubble.jpg')).toEqual(['Space', 'galaxies'])
    expect((await accepted('both/coffee.png'))!.text).toBe('a cup of coffee (darktable)')
    expect(await accepted('hier/astronaut.png')).toBeNull()
    expect(await keywordsOf('hier/astronaut.png')).toEqual(['Eileen Collins', 'Space'])
    expect((await accepted('hand/rocket.jpg'))!.text).toBe('Rocket & tower — at dawn')
    expect(await keywordsOf('hand/rocket.jpg')).toEqual(['launch <pad>', 'rocket'])
  })

  it('importing again changes nothing', async () => {
    const again = await run({ format: 'xmp', path: root })
    expect(again).toMatchObject({ newCaptions: 0, sameCaptions: 4, conflicts: 0, keywords: 0, candidates: 0 })
  })
})

describe('embedded metadata', () => {
  it('takes XMP, then IPTC (UTF-8 or Latin-1), then EXIF; skips camera placeholders; reads PNG XMP', async () => {
    const r = await run({ format: 'embedded', path: join(root, 'emb') })
    expect(r).toMatchObject({ files: 7, newCaptions: 5, errors: 0 })
    expect(r.empty).toBe(2)
    expect(await accepted('emb/rocket.jpg')).toMatchObject({ text: 'Falcon on the pad', source: { method: 'imported:embedded' } })
    expect(await keywordsOf('emb/rocket.jpg')).toEqual(['launch', 'rocket'])
    expect((await accepted('emb/iptc-utf8.jpg'))!.text).toBe('Netzhaut, Aufnahme über Fundus')
    expect(await keywordsOf('emb/iptc-utf8.jpg')).toEqual(['Auge', 'Netzhaut'])
    expect((await accepted('emb/iptc-latin1.jpg'))!.text).toBe('Café au lait galaxies')
    expect((await accepted('emb/usercomment.jpg'))!.text).toBe('a rocket, ünïcode comment')
    expect(await accepted('emb/placeholder.jpg')).toBeNull()
    expect((await accepted('emb/cat.png'))!.text).toBe('Chelsea the cat, in a PNG')
    expect(await keywordsOf('emb/cat.png')).toEqual(['cat'])
  })

  it('a folder outside the library is a clear error', async () => {
    const r = await run({ format: 'embedded', path: tempDir('xmpimp-empty') }, false)
    expect(r.errorList[0]!.message).toMatch(/no library images here/)
  })
})
