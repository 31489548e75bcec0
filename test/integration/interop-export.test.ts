// XMP sidecar export (merge into digiKam/Lightroom sidecars, new sidecars, naming setting, malformed
// sidecars left untouched, dry run) read back by ExifTool, and the dataset exports (kohya .txt with trigger
// word and tags, caption extension, metadata.jsonl and CSV with tags), each re-imported as a round trip.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExportResult } from '../../src/shared/contract/exports'
import type { ImportSummary } from '../../src/shared/contract/interop'
import type { ImageSummary } from '../../src/shared/contract/library'
import { createServices, type Services } from '../../src/main/services/services'
import { exportCommand } from '../../src/main/cli/commands/export'
import { ReviewRepo } from '../../src/main/store/review-repo'
import { parseCsv } from '../../src/main/interop/csv-read'
import { tempDir } from '../fixtures/images'
import { bytesOf, copyPhotos, exifJson, exiftool } from '../fixtures/photos'
import { captureStdout } from '../fixtures/stdout'

let root: string
let services: Services
let ids: Map<string, number>
let images: Map<string, Buffer>
let dataDir: string

const LAYOUT = {
  'dk/chelsea.png': 'chelsea.png',
  'lr/hubble.jpg': 'hubble_deep_field.jpg',
  'new/coffee.png': 'coffee.png',
  'bad/rocket.jpg': 'rocket.jpg',
  'kw/astronaut.png': 'astronaut.png',
  'same/a.jpg': 'retina.jpg',
  'same/a.png': 'coins.png'
}
const p = (rel: string) => join(root, rel)
const run = (req: Record<string, unknown>) => services.call('exports.run', req) as Promise<ExportResult>
const xmpTags = (file: string) => {
  const j = exifJson(file, ['-XMP:all'])
  delete j.SourceFile
  return j
}
const others = (t: Record<string, unknown>) => Object.fromEntries(Object.entries(t).filter(([k]) => !/^XMP-dc:(Description|Subject)$/.test(k)))
const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String)

beforeAll(async () => {
  root = tempDir('xmpexp-lib')
  copyPhotos(root, LAYOUT)
  exiftool(['-o', p('dk/chelsea.png.xmp'), '-XMP-dc:Description=old digiKam caption', '-XMP-dc:Description-de=Eine Katze', '-XMP-dc:Subject=chat', '-XMP-digiKam:TagsList=Tiere/Katzen', '-XMP-xmp:Rating=3', '-XMP-darktable:ColorLabels=', p('dk/chelsea.png')])
  exiftool(['-api', 'Compact=Shorthand', '-o', p('lr/hubble.xmp'), '-XMP-dc:all=', '-XMP-xmp:Label=Red', '-XMP-crs:Exposure2012=+0.50', p('lr/hubble.jpg')])
  writeFileSync(p('bad/rocket.jpg.xmp'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF></x:xmpmeta>')
  images = bytesOf(Object.keys(LAYOUT).map(p))
  dataDir = tempDir('xmpexp-data')
  services = createServices(dataDir, 'cli')
  await services.call('library.addRoot', { path: root })
  await services.call('library.waitForScans', {})
  const all = (await services.call('library.listIds', {})) as { ids: number[] }
  ids = new Map(((await services.call('library.getImages', { ids: all.ids })) as ImageSummary[]).map((s) => [s.relPath, s.id]))
  const caption: Record<string, string> = {
    'dk/chelsea.png': 'a ginger cat looking up — Été',
    'lr/hubble.jpg': 'thousands of galaxies in the deep field',
    'new/coffee.png': 'a red mug of coffee & a saucer',
    'bad/rocket.jpg': 'a rocket on the pad',
    'same/a.jpg': 'a retina',
    'same/a.png': 'coins'
  }
  for (const [rel, text] of Object.entries(caption)) await services.call('captions.accept', { imageId: ids.get(rel)!, text })
  const tag = (rel: string, tag: string) => services.call('review.addTag', { imageIds: [ids.get(rel)!], tag })
  await tag('dk/chelsea.png', 'Chat')
  await tag('dk/chelsea.png', 'ginger')
  await tag('kw/astronaut.png', 'astronaut')
  await tag('new/coffee.png', 'coffee')
  new ReviewRepo(services.ctx.db).setConcepts(ids.get('new/coffee.png')!, [{ word: 'mug', prob: 0.9 }])
})

afterAll(async () => {
  for (const [file, bytes] of images) expect(readFileSync(file).equals(bytes)).toBe(true)
  await services.close()
})

describe('export --format xmp', () => {
  it('a dry run lists what would be written and writes nothing', async () => {
    const before = statSync(p('dk/chelsea.png.xmp')).mtimeMs
    const r = await run({ format: 'xmp', merge: 'overwrite', dryRun: true })
    expect(r.dryRun).toBe(true)
    const action = Object.fromEntries(r.planned!.map((a) => [a.path.slice(root.length + 1), a.action]))
    expect(action).toEqual({
      'dk/chelsea.png.xmp': 'merge',
      'lr/hubble.jpg.xmp': 'create',
      'new/coffee.png.xmp': 'create',
      'bad/rocket.jpg.xmp': 'refused',
      'kw/astronaut.png.xmp': 'create',
      'same/a.jpg.xmp': 'create',
      'same/a.png.xmp': 'create'
    })
    expect(existsSync(p('new/coffee.png.xmp'))).toBe(false)
    expect(statSync(p('dk/chelsea.png.xmp')).mtimeMs).toBe(before)
  })

  it('skip leaves existing sidecars alone and creates the missing ones', async () => {
    const orig = readFileSync(p('dk/chelsea.png.xmp'), 'utf8')
    const r = await run({ format: 'xmp', xmpNaming: 'replace', rootId: 1 })
    expect(readFileSync(p('dk/chelsea.png.xmp'), 'utf8')).toBe(orig)
    expect(r.conflicts.join('\n')).toMatch(/lr\/hubble\.xmp exists \(merge mode skip/)
    expect(r.conflicts.join('\n')).toMatch(/same\/a\.xmp: same\/a\.jpg, same\/a\.png share this sidecar name/)
    const coffee = xmpTags(p('new/coffee.xmp'))
    expect(coffee['XMP-dc:Description']).toBe('a red mug of coffee & a saucer')
    expect(list(coffee['XMP-dc:Subject'])).toEqual(['coffee'])
    expect(list(xmpTags(p('kw/astronaut.xmp'))['XMP-dc:Subject'])).toEqual(['astronaut'])
    expect(xmpTags(p('kw/astronaut.xmp'))['XMP-dc:Description']).toBeUndefined()
  })

  it('overwrite merges caption and keywords into digiKam and Lightroom sidecars, keeping their other fields', async () => {
    const dkBefore = xmpTags(p('dk/chelsea.png.xmp'))
    const lrBefore = xmpTags(p('lr/hubble.xmp'))
    const badBytes = readFileSync(p('bad/rocket.jpg.xmp'))
    const ext = await run({ format: 'xmp', merge: 'overwrite', concepts: true })
    expect(ext.conflicts).toEqual([expect.stringMatching(/bad\/rocket\.jpg\.xmp: .*not well-formed XML.*\(left untouched\)/)])
    const dk = xmpTags(p('dk/chelsea.png.xmp'))
    expect(dk['XMP-dc:Description']).toBe('a ginger cat looking up — Été')
    expect(dk['XMP-dc:Description-de']).toBe('Eine Katze')
    expect(list(dk['XMP-dc:Subject'])).toEqual(['chat', 'ginger'])
    expect(others(dk)).toEqual(others(dkBefore))
    expect(list(xmpTags(p('new/coffee.png.xmp'))['XMP-dc:Subject'])).toEqual(['coffee', 'mug'])
    expect(readFileSync(p('bad/rocket.jpg.xmp')).equals(badBytes)).toBe(true)

    const rep = await run({ format: 'xmp', merge: 'overwrite', xmpNaming: 'replace' })
    expect(rep.files).toContain(p('lr/hubble.xmp'))
    const lr = xmpTags(p('lr/hubble.xmp'))
    expect(lr['XMP-dc:Description']).toBe('thousands of galaxies in the deep field')
    expect(others(lr)).toEqual(others(lrBefore))
    expect(lr['XMP-crs:Exposure2012']).toBe(lrBefore['XMP-crs:Exposure2012'])
    // Nothing left over from the atomic writes (temporary file + rename).
    for (const d of Object.keys(LAYOUT).map((rel) => dirname(p(rel)))) expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([])
    const again = await run({ format: 'xmp', merge: 'overwrite', xmpNaming: 'replace' })
    expect(again.written).toBe(0)
  })

  it('round trip: a fresh library imports the written sidecars back', async () => {
    const other = createServices(tempDir('xmpexp-data2'), 'cli')
    try {
      await other.call('library.addRoot', { path: root })
      await other.call('library.waitForScans', {})
      const r = (await other.call('interop.importApply', { format: 'xmp', path: join(root, 'dk') })) as ImportSummary
      expect(r).toMatchObject({ newCaptions: 1, errors: 0 })
      const id = ((await other.call('library.listIds', { search: 'chelsea' })) as { ids: number[] }).ids[0]!
      expect(((await other.call('captions.forImage', { imageId: id })) as { accepted: { text: string } }).accepted.text).toBe('a ginger cat looking up — Été')
    } finally {
      await other.close()
    }
  })
})

describe('dataset exports', () => {
  it('kohya .caption files with trigger word and tags; the dry run writes nothing; re-import strips the trigger', async () => {
    const out = tempDir('xmpexp-kohya')
    const dry = await run({ format: 'txt', outDir: out, triggerWord: 'ohwx', tags: true, captionExt: 'caption', dryRun: true })
    expect(dry.planned!.map((a) => a.action)).toContain('create')
    expect(dry.planned!.some((a) => a.path.endsWith('dk/chelsea.caption'))).toBe(true)
    expect(existsSync(join(out, 'dk'))).toBe(false)
    const written = await run({ format: 'txt', outDir: out, triggerWord: 'ohwx', tags: true, captionExt: 'caption' })
    // same/a.jpg and same/a.png would share same/a.caption: reported, not written.
    expect(written).toMatchObject({ written: 4, conflicts: [expect.stringMatching(/same\/a\.caption: same\/a\.jpg, same\/a\.png share/)] })
    expect(readFileSync(join(out, 'dk/chelsea.caption'), 'utf8')).toBe('ohwx, a ginger cat looking up — Été, Chat, ginger\n')
    expect(readFileSync(join(out, 'bad/rocket.caption'), 'utf8')).toBe('ohwx, a rocket on the pad\n')
    const other = createServices(tempDir('xmpexp-data3'), 'cli')
    try {
      await other.call('library.addRoot', { path: root })
      await other.call('library.waitForScans', {})
      const r = (await other.call('interop.importApply', { format: 'caption', path: out, stripTrigger: 'ohwx' })) as ImportSummary
      expect(r.newCaptions).toBe(4)
      const id = ((await other.call('library.listIds', { search: 'rocket' })) as { ids: number[] }).ids[0]!
      expect(((await other.call('captions.forImage', { imageId: id })) as { accepted: { text: string } }).accepted.text).toBe('a rocket on the pad')
    } finally {
      await other.close()
    }
  })

  it('metadata.jsonl and CSV with tags', async () => {
    const out = tempDir('xmpexp-jsonl')
    await run({ format: 'jsonl', outDir: out, tags: true })
    const lines = readFileSync(join(out, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file_name: string; text: string; tags: string[] })
    expect(lines.find((l) => l.file_name === 'dk/chelsea.png')).toEqual({ file_name: 'dk/chelsea.png', text: 'a ginger cat looking up — Été', tags: ['Chat', 'ginger'] })
    expect(lines.find((l) => l.file_name === 'bad/rocket.jpg')!.tags).toEqual([])
    await run({ format: 'csv', outDir: out, tags: true, concepts: true })
    const rows = parseCsv(readFileSync(join(out, 'captions.csv'), 'utf8')).map((r) => r.fields)
    expect(rows[0]).toEqual(['file_name', 'text', 'tags'])
    expect(rows).toContainEqual(['new/coffee.png', 'a red mug of coffee & a saucer', 'coffee, mug'])
  })
})

describe('CLI: export --format xmp', () => {
  it('takes --xmp-naming and --dry-run and prints the JSON result', async () => {
    await services.close()
    const { lines } = await captureStdout(async () => {
      expect(await exportCommand.run(['--format', 'xmp', '--xmp-naming', 'replace', '--merge', 'overwrite', '--dry-run', '--data-dir', dataDir])).toBe(0)
    }).finally(() => (services = createServices(dataDir, 'cli')))
    const r = JSON.parse(lines[0]!) as ExportResult
    expect(r).toMatchObject({ format: 'xmp', dryRun: true })
    expect(r.planned!.find((a) => a.path === p('lr/hubble.xmp'))!.action).toBe('unchanged')
    expect(r.planned!.find((a) => a.path === p('same/a.xmp'))!.action).toBe('refused')
  })
})
