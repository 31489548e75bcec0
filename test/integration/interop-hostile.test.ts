// Hostile inputs to the importers: malformed XML, XMP bombs (entity expansion, deep nesting), a 50 MB
// sidecar, non-UTF-8 text. Each is one clear per-file error; the other files of the same import go on, and
// nothing of a refused file reaches the store. Entries never opened (links, FIFOs, non-UTF-8 names, unreadable
// folders) are reported with their reason.
import { execFileSync } from 'node:child_process'
import { appendFileSync, chmodSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Caption } from '../../src/shared/contract/captions'
import type { ImportSummary } from '../../src/shared/contract/interop'
import type { ImageSummary } from '../../src/shared/contract/library'
import type { Tag } from '../../src/shared/contract/review'
import { createServices, type Services } from '../../src/main/services/services'
import { parseXmp } from '../../src/main/interop/xmp-parse'
import { tempDir } from '../fixtures/images'
import { copyPhotos } from '../fixtures/photos'

let root: string
let services: Services
let ids: Map<string, number>

const NAMES = ['good', 'malformed', 'laughs', 'deep', 'huge', 'utf16', 'latin1']
const XMP = (body: string) =>
  `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">${body}</rdf:Description></rdf:RDF></x:xmpmeta>`
const DESC = (t: string) => `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${t}</rdf:li></rdf:Alt></dc:description><dc:subject><rdf:Bag><rdf:li>kw-${t}</rdf:li></rdf:Bag></dc:subject>`

beforeAll(async () => {
  root = tempDir('hostile-lib')
  copyPhotos(root, Object.fromEntries(NAMES.map((n) => [`${n}.jpg`, 'rocket.jpg'])))
  // Different bytes per copy, so no image is a duplicate of another.
  NAMES.forEach((n, k) => appendFileSync(join(root, `${n}.jpg`), Buffer.from([k])))
  services = createServices(tempDir('hostile-data'), 'cli')
  await services.call('library.addRoot', { path: root })
  await services.call('library.waitForScans', {})
  const list = (await services.call('library.listIds', {})) as { ids: number[] }
  ids = new Map(((await services.call('library.getImages', { ids: list.ids })) as ImageSummary[]).map((s) => [s.relPath, s.id]))
})

afterAll(() => services.close())

describe('hostile XMP sidecars', () => {
  it('refuses each bad sidecar with its reason and imports the good one', async () => {
    const p = (n: string) => join(root, `${n}.jpg.xmp`)
    writeFileSync(p('good'), XMP(DESC('fine')))
    writeFileSync(p('malformed'), XMP(DESC('broken')).replace('</rdf:Alt>', '</rdf:Bag>'))
    const laughs =
      '<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [<!ENTITY a "hahahahahahaha">' +
      Array.from({ length: 9 }, (_, k) => `<!ENTITY ${'b'.repeat(k + 1)} "${`&${k === 0 ? 'a' : 'b'.repeat(k)};`.repeat(10)}">`).join('') +
      ']>' + XMP(DESC('&bbbbbbbbb;'))
    writeFileSync(p('laughs'), laughs)
    writeFileSync(p('deep'), XMP(DESC('deep') + '<dc:x>' + '<rdf:Bag>'.repeat(20_000) + '</rdf:Bag>'.repeat(20_000) + '</dc:x>'))
    writeFileSync(p('huge'), XMP(DESC('huge')))
    truncateSync(p('huge'), 50 * 1024 * 1024)
    writeFileSync(p('utf16'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(XMP(DESC('utf16')), 'utf16le')]))
    writeFileSync(p('latin1'), Buffer.from(XMP(DESC('caf\u00e9')), 'latin1'))

    const r = (await services.call('interop.importApply', { format: 'xmp', path: root })) as ImportSummary
    expect(r).toMatchObject({ files: 7, newCaptions: 1, keywords: 1, errors: 6 })
    const why = Object.fromEntries(r.errorList.map((e) => [e.file.replace('.jpg.xmp', ''), e.message]))
    expect(why.malformed).toMatch(/not well-formed XML/)
    expect(why.laughs).toMatch(/DOCTYPE\/ENTITY declarations are refused/)
    expect(why.deep).toMatch(/nesting deeper than 64 levels/)
    expect(why.huge).toMatch(/is 50\.0 MB; the limit is 8\.0 MB \(refused unread\)/)
    expect(why.utf16).toMatch(/UTF-16/)
    expect(why.latin1).toMatch(/not UTF-8/)

    for (const n of NAMES) {
      const c = (await services.call('captions.forImage', { imageId: ids.get(`${n}.jpg`)! })) as { accepted: Caption | null; history: Caption[] }
      const tags = ((await services.call('review.tagsOf', { imageId: ids.get(`${n}.jpg`)! })) as { tags: Tag[] }).tags
      if (n === 'good') {
        expect(c.accepted!.text).toBe('fine')
        expect(tags.map((t) => t.tag)).toEqual(['kw-fine'])
      } else {
        expect(c.history).toEqual([])
        expect(tags).toEqual([])
      }
    }
  })

  it('a 50 MB caption sidecar is refused by its size', async () => {
    writeFileSync(join(root, 'huge.txt'), 'x')
    truncateSync(join(root, 'huge.txt'), 50 * 1024 * 1024)
    writeFileSync(join(root, 'deep.txt'), 'a rocket on a pad')
    const r = (await services.call('interop.importPreview', { format: 'txt', path: root })) as ImportSummary
    expect(r).toMatchObject({ files: 2, newCaptions: 1, errors: 1 })
    expect(r.errorList[0]).toMatchObject({ file: 'huge.txt', message: expect.stringMatching(/50\.0 MB; the limit is 1\.0 MB/) })
  })
})

describe('entries an import never opens', () => {
  it('links, FIFOs and names that are not UTF-8 are per-file issues with the reason, and the rest imports', async () => {
    const side = tempDir('hostile-side')
    writeFileSync(join(side, 'good.jpg.txt'), 'a rocket from a mirrored folder')
    writeFileSync(join(root, 'outside-target.txt'), 'never read through a link')
    symlinkSync(join(root, 'outside-target.txt'), join(side, 'link.jpg.txt'))
    execFileSync('mkfifo', [join(side, 'fifo.jpg.txt')])
    writeFileSync(Buffer.concat([Buffer.from(join(side, 'caf')), Buffer.from([0xe9]), Buffer.from('.jpg.txt')]), 'latin-1 name')
    mkdirSync(join(side, 'locked'))
    writeFileSync(join(side, 'locked', 'deep.jpg.txt'), 'inside a folder that cannot be read')
    chmodSync(join(side, 'locked'), 0o000)
    try {
      // (a FIFO opened for reading would block: the test's timeout catches that)
      const r = (await services.call('interop.importPreview', { format: 'txt', path: side })) as ImportSummary
      const why = Object.fromEntries(r.errorList.map((e) => [e.file, e.message]))
      expect(why['link.jpg.txt']).toMatch(/^not read: a symbolic link/)
      expect(why['fifo.jpg.txt']).toMatch(/^not read: a FIFO/)
      expect(Object.entries(why).find(([f]) => f.startsWith('caf'))?.[1]).toMatch(/^not read: the file name is not valid UTF-8/)
      // root ignores permissions: the locked folder is then simply read
      if (process.getuid?.() !== 0) expect(why.locked).toMatch(/^folder not read: .*EACCES/)
      expect(r.files).toBe(process.getuid?.() === 0 ? 2 : 1)
      expect(r.errors).toBe(r.errorList.length)
    } finally {
      chmodSync(join(side, 'locked'), 0o755)
    }
  })
})

describe('parseXmp guards', () => {
  it('refuses an internal DTD even without entity references, and accepts depth up to the limit', () => {
    expect(() => parseXmp('<!DOCTYPE a><a/>', 'x')).toThrow(/DOCTYPE/)
    const nested = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n)
    expect(parseXmp(nested(64), 'x')).toHaveLength(1)
    expect(() => parseXmp(nested(100), 'x')).toThrow(/nesting deeper than 64/)
    expect(() => parseXmp('<a><b></a></b>', 'x')).toThrow(/not well-formed/)
    expect(() => parseXmp('<a>&nbsp;</a>', 'x')).toThrow(/not well-formed/)
  })
})
