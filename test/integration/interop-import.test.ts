// Import of caption sidecars (.txt next to the images and .caption in a mirrored folder), metadata.jsonl,
// COCO captions and CSV into a library of real photos: preview before write, accepted captions with the
// imported:<format> source and history, conflicts kept unless overwrite, keywords, the CLI summary.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Caption } from '../../src/shared/contract/captions'
import type { ImportSummary } from '../../src/shared/contract/interop'
import type { ImageSummary } from '../../src/shared/contract/library'
import type { Tag } from '../../src/shared/contract/review'
import { createServices, type Services } from '../../src/main/services/services'
import { libraryCommand } from '../../src/main/cli/commands/library'
import { tempDir } from '../fixtures/images'
import { bytesOf, copyPhotos } from '../fixtures/photos'
import { captureStdout } from '../fixtures/stdout'

let root: string
let dataDir: string
let services: Services
let ids: Map<string, number>
let originals: Map<string, Buffer>

const LAYOUT = {
  'cats/chelsea.png': 'chelsea.png',
  'cats/coffee.png': 'coffee.png',
  'space/hubble.jpg': 'hubble_deep_field.jpg',
  'people/astronaut.png': 'astronaut.png',
  'amb/rocket.jpg': 'rocket.jpg',
  'amb/rocket.png': 'coins.png'
}

const preview = (req: Record<string, unknown>) => services.call('interop.importPreview', req) as Promise<ImportSummary>
const apply = (req: Record<string, unknown>) => services.call('interop.importApply', req) as Promise<ImportSummary>
const captionsOf = (rel: string) => services.call('captions.forImage', { imageId: ids.get(rel)! }) as Promise<{ accepted: Caption | null; candidates: Caption[]; history: Caption[] }>
const keywordsOf = async (rel: string) => ((await services.call('review.tagsOf', { imageId: ids.get(rel)! })) as { tags: Tag[] }).tags.filter((t) => t.kind === 'keyword').map((t) => t.tag)

beforeAll(async () => {
  root = tempDir('interop-lib')
  copyPhotos(root, LAYOUT)
  originals = bytesOf(Object.keys(LAYOUT).map((r) => join(root, r)))
  dataDir = tempDir('interop-data')
  services = createServices(dataDir, 'cli')
  await services.call('library.addRoot', { path: root })
  await services.call('library.waitForScans', {})
  const list = (await services.call('library.listIds', {})) as { ids: number[] }
  ids = new Map(((await services.call('library.getImages', { ids: list.ids })) as ImageSummary[]).map((s) => [s.relPath, s.id]))
})

afterAll(async () => {
  // Images are never modified by any import.
  for (const [file, bytes] of originals) expect(readFileSync(file).equals(bytes)).toBe(true)
  await services.close()
})

describe('txt sidecars next to the images', () => {
  it('previews counts and conflicts without writing, then applies with history and provenance', async () => {
    await services.call('captions.accept', { imageId: ids.get('cats/coffee.png')!, text: 'a cup of coffee' })
    writeFileSync(join(root, 'cats/chelsea.txt'), 'a ginger cat looking up\nan orange tabby cat\n')
    writeFileSync(join(root, 'cats/coffee.txt'), 'a red mug of coffee on a saucer\n')
    writeFileSync(join(root, 'space/hubble.txt'), '   \n')
    writeFileSync(join(root, 'amb/rocket.txt'), 'a rocket on the launch pad')
    writeFileSync(join(root, 'cats/notes.txt'), 'not a sidecar of any image')

    const p = await preview({ format: 'txt', path: root })
    expect(p).toMatchObject({ applied: false, files: 5, newCaptions: 1, conflicts: 1, replaced: 0, empty: 1, unmatched: 2, errors: 0 })
    expect(p.conflictList).toEqual([expect.objectContaining({ relPath: 'cats/coffee.png', current: 'a cup of coffee', incoming: 'a red mug of coffee on a saucer' })])
    expect(p.unmatchedList.map((u) => u.message).join('\n')).toMatch(/ambiguous: amb\/rocket\.jpg, amb\/rocket\.png/)
    expect((await captionsOf('cats/chelsea.png')).accepted).toBeNull()

    const a = await apply({ format: 'txt', path: root })
    expect(a).toMatchObject({ applied: true, newCaptions: 1, conflicts: 1, replaced: 0 })
    const chelsea = await captionsOf('cats/chelsea.png')
    expect(chelsea.accepted).toMatchObject({ text: 'a ginger cat looking up', source: { kind: 'human', method: 'imported:txt', params: { file: 'cats/chelsea.txt' } } })
    // The second line is a candidate; the kept conflict's text is a candidate of coffee.png.
    expect(chelsea.candidates.map((c) => c.text)).toEqual(['an orange tabby cat'])
    const coffee = await captionsOf('cats/coffee.png')
    expect(coffee.accepted!.text).toBe('a cup of coffee')
    expect(coffee.candidates.map((c) => c.text)).toContain('a red mug of coffee on a saucer')

    const o = await apply({ format: 'txt', path: join(root, 'cats'), overwrite: true })
    expect(o).toMatchObject({ conflicts: 1, replaced: 1, sameCaptions: 1 })
    const after = await captionsOf('cats/coffee.png')
    expect(after.accepted).toMatchObject({ text: 'a red mug of coffee on a saucer', source: { method: 'imported:txt' } })
    expect(after.history.find((h) => h.text === 'a cup of coffee')!.status).toBe('superseded')
  })
})

describe('.caption files in a folder mirroring the library', () => {
  it('matches by relative path and base name, strips a trigger word, reads booru tags as keywords', async () => {
    const mirror = tempDir('interop-mirror')
    mkdirSync(join(mirror, 'people'), { recursive: true })
    mkdirSync(join(mirror, 'space'), { recursive: true })
    writeFileSync(join(mirror, 'people/astronaut.caption'), 'ohwx, an astronaut in a white suit\n')
    writeFileSync(join(mirror, 'space/hubble.caption'), 'ohwxy galaxies')
    writeFileSync(join(mirror, 'space/missing.caption'), 'no image')
    const r = await apply({ format: 'caption', path: mirror, stripTrigger: 'ohwx' })
    expect(r).toMatchObject({ files: 3, newCaptions: 2, unmatched: 1 })
    expect((await captionsOf('people/astronaut.png')).accepted!.text).toBe('an astronaut in a white suit')
    // "ohwxy" is not the trigger word followed by a separator: kept.
    expect((await captionsOf('space/hubble.jpg')).accepted!.text).toBe('ohwxy galaxies')

    // A subfolder of the mirror is not itself a mirror of the root: nothing matches.
    expect((await preview({ format: 'caption', path: join(mirror, 'people') })).unmatchedList[0]!.message).toMatch(/no image named like "astronaut"/)
    const tags = tempDir('interop-tags')
    mkdirSync(join(tags, 'people'))
    writeFileSync(join(tags, 'people/astronaut.caption'), '1girl, space suit,  flag ,\nspace suit')
    const k = await apply({ format: 'caption', path: tags, textAs: 'keywords', rootId: 1 })
    expect(k).toMatchObject({ keywords: 3, newCaptions: 0 })
    expect((await keywordsOf('people/astronaut.png')).sort()).toEqual(['1girl', 'flag', 'space suit'])
  })
})

describe('Hugging Face metadata.jsonl', () => {
  it('reads file_name and the chosen text column; a line that is not JSON is an error, the rest imports', async () => {
    const dir = tempDir('interop-jsonl')
    writeFileSync(
      join(dir, 'metadata.jsonl'),
      [
        JSON.stringify({ file_name: 'cats/chelsea.png', text: 'ignored', long_caption: 'a cat with green eyes sitting', tags: ['cat', 'Ginger'] }),
        '{"file_name": "space/hubble.jpg", "long_caption": "deep field"',
        JSON.stringify({ file_name: 'people/astronaut.png', long_caption: 'a woman astronaut, smiling', tags: 'portrait, NASA' }),
        JSON.stringify({ file_name: 'nowhere.png', long_caption: 'x' }),
        JSON.stringify(['not', 'an', 'object'])
      ].join('\n')
    )
    const p = await preview({ format: 'jsonl', path: join(dir, 'metadata.jsonl'), textColumn: 'long_caption', overwrite: true })
    expect(p).toMatchObject({ records: 3, images: 2, errors: 2, unmatched: 1, keywords: 4 })
    expect(p.errorList.map((e) => `${e.where}: ${e.message}`)).toEqual([expect.stringMatching(/^line 2: not JSON/), 'line 5: not a JSON object'])
    const a = await apply({ format: 'jsonl', path: dir, textColumn: 'long_caption', overwrite: true })
    expect(a.replaced).toBe(2)
    expect((await captionsOf('cats/chelsea.png')).accepted).toMatchObject({ text: 'a cat with green eyes sitting', source: { method: 'imported:jsonl' } })
    expect((await keywordsOf('people/astronaut.png')).sort()).toEqual(['1girl', 'NASA', 'flag', 'portrait', 'space suit'])
  })
})

describe('COCO captions', () => {
  it('first caption accepted, the others candidates; unknown image ids and unmatched files reported', async () => {
    const dir = tempDir('interop-coco')
    const doc = {
      images: [
        { id: 1, file_name: 'cats/coffee.png', width: 400, height: 400 },
        { id: 2, file_name: 'amb/rocket.jpg' },
        { id: 3, file_name: 'not/in/library.jpg' }
      ],
      annotations: [
        { id: 10, image_id: 2, caption: 'a rocket launch tower' },
        { id: 11, image_id: 2, caption: 'A  rocket standing at the pad.' },
        { id: 12, image_id: 99, caption: 'orphan' },
        { id: 13, image_id: 3, caption: 'somewhere' },
        { id: 14, image_id: 1, caption: 'a red mug of coffee on a saucer' }
      ]
    }
    writeFileSync(join(dir, 'captions.json'), JSON.stringify(doc))
    writeFileSync(join(dir, 'broken.json'), '{"images": [')
    const r = await apply({ format: 'coco', path: dir })
    expect(r).toMatchObject({ files: 2, images: 2, newCaptions: 1, sameCaptions: 1, candidates: 1, unmatched: 1, errors: 2 })
    expect(r.errorList.map((e) => `${e.file} ${e.where ?? ''} ${e.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^broken\.json +not JSON/), 'captions.json annotation 12 image_id 99 matches no image in the file'])
    )
    const rocket = await captionsOf('amb/rocket.jpg')
    expect(rocket.accepted).toMatchObject({ text: 'a rocket launch tower', source: { method: 'imported:coco' } })
    expect(rocket.candidates.map((c) => c.text)).toEqual(['A rocket standing at the pad.'])
  })
})

describe('CSV', () => {
  it('maps columns, keeps quoted commas, quotes and newlines; a broken file is one error', async () => {
    const dir = tempDir('interop-csv')
    mkdirSync(join(dir, 'sub'))
    writeFileSync(
      join(dir, 'labels.csv'),
      'Image,Description,Keywords\r\n' +
        'cats/chelsea.png,"a cat, ""Chelsea"",\r\nlooking up",\r\n' +
        '"amb/rocket.png","coins on a table","money,  metal"\r\n' +
        'space/hubble.jpg\r\n'
    )
    writeFileSync(join(dir, 'sub/broken.csv'), 'file_name,text\ncats/coffee.png,"never closed\n')
    const r = await apply({ format: 'csv', path: dir, fileColumn: 'image', textColumn: 'description', overwrite: true })
    expect(r).toMatchObject({ files: 2, records: 2, errors: 2, replaced: 1, newCaptions: 1, keywords: 2 })
    expect(r.errorList.map((e) => `${e.file}: ${e.where ?? ''} ${e.message}`)).toEqual([
      'labels.csv: row at line 5 1 fields; the header has 3',
      'sub/broken.csv:  line 2: a quoted field is never closed'
    ])
    // Whitespace (the quoted newline) collapses as in every caption.
    expect((await captionsOf('cats/chelsea.png')).accepted!.text).toBe('a cat, "Chelsea", looking up')
    expect((await keywordsOf('amb/rocket.png')).sort()).toEqual(['metal', 'money'])
    expect((await captionsOf('cats/coffee.png')).accepted!.text).toBe('a red mug of coffee on a saucer')
  })
})

describe('CLI: library import', () => {
  it('prints one JSON summary; --dry-run writes nothing', async () => {
    const dir = tempDir('interop-cli')
    writeFileSync(join(dir, 'metadata.jsonl'), JSON.stringify({ file_name: 'people/astronaut.png', caption: 'an astronaut holding a helmet' }) + '\n')
    await services.close()
    const { lines } = await captureStdout(async () => {
      expect(await libraryCommand.run(['import', '--format', 'jsonl', '--dry-run', '--overwrite', '--data-dir', dataDir, dir])).toBe(0)
      expect(await libraryCommand.run(['import', '--format', 'jsonl', '--data-dir', dataDir, dir])).toBe(0)
    })
    const [dry, real] = lines.map((l) => JSON.parse(l) as ImportSummary)
    expect(dry).toMatchObject({ applied: false, conflicts: 1, replaced: 1 })
    expect(real).toMatchObject({ applied: true, conflicts: 1, replaced: 0, candidates: 1 })
    services = createServices(dataDir, 'cli')
    expect((await captionsOf('people/astronaut.png')).accepted!.text).toBe('a woman astronaut, smiling')
    await expect(libraryCommand.run(['import', '--format', 'nope', '--data-dir', dataDir, dir])).rejects.toThrow(/format/)
  })
})
