// Captions (history, supersede, undo, candidates) and the four exports, end to end on a temp library.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Caption } from '../../src/shared/contract/captions'
import type { ExportResult } from '../../src/shared/contract/exports'
import type { ImageSummary } from '../../src/shared/contract/library'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, tempDir, type ImageFolder } from '../fixtures/images'

let folder: ImageFolder
let services: Services
let byPath: Map<string, ImageSummary>

const accept = (imageId: number, text: string) => services.call('captions.accept', { imageId, text }) as Promise<{ caption: Caption; previousId: number | null; changed: boolean }>

beforeAll(async () => {
  folder = await makeImageFolder()
  services = createServices(tempDir('data'), 'cli')
  await services.call('library.addRoot', { path: folder.root })
  await services.call('library.waitForScans', {})
  const { ids } = (await services.call('library.listIds', {})) as { ids: number[] }
  byPath = new Map(((await services.call('library.getImages', { ids })) as ImageSummary[]).map((s) => [s.relPath, s]))
})

describe('captions', () => {
  it('an edit supersedes the previous caption and keeps the history; undo restores it', async () => {
    const id = byPath.get('alpha.png')!.id
    const a = await accept(id, '  a  faint red   square ')
    expect(a.caption.text).toBe('a faint red square')
    expect(a.previousId).toBeNull()
    const b = await accept(id, 'a translucent red square')
    expect(b.previousId).toBe(a.caption.id)
    const same = await accept(id, 'a translucent red square')
    expect(same.changed).toBe(false)
    let r = (await services.call('captions.forImage', { imageId: id })) as { accepted: Caption; history: Caption[] }
    expect(r.accepted.text).toBe('a translucent red square')
    expect(r.history.map((h) => h.status)).toEqual(['superseded', 'accepted'])
    await services.call('captions.undo', { imageId: id, captionId: b.caption.id, previousId: b.previousId })
    r = (await services.call('captions.forImage', { imageId: id })) as { accepted: Caption; history: Caption[] }
    expect(r.accepted.text).toBe('a faint red square')
    expect(r.history).toHaveLength(3)
    expect(r.history.every((h) => h.text.length > 0)).toBe(true)
  })

  it('candidates wait for review; accepting one keeps its model provenance', async () => {
    const id = byPath.get('b/photo.tiff')!.id
    const added = services.ctx.captions.addCandidates(id, [
      { text: 'an orange square', source: { kind: 'model', packId: 'shapes-demo', method: 'decoder' }, scores: { clipS: 0.7 } },
      { text: '   ', source: { kind: 'model' }, scores: {} },
      { text: 'an orange square', source: { kind: 'model' }, scores: {} }
    ])
    expect(added).toHaveLength(1)
    const uncaptioned = (await services.call('library.listIds', { filter: 'candidates' })) as { ids: number[] }
    expect(uncaptioned.ids).toContain(id)
    const r = (await services.call('captions.accept', { imageId: id, text: 'an orange square', fromCandidateId: added[0]!.id })) as { caption: Caption }
    expect(r.caption.source).toMatchObject({ kind: 'model', packId: 'shapes-demo' })
    expect(r.caption.id).toBe(added[0]!.id)
  })

  it('refuses unknown images and empty captions with clear errors', async () => {
    await expect(accept(99999, 'x')).rejects.toMatchObject({ code: 'not_found' })
    await expect(accept(byPath.get('a/red.jpg')!.id, ' \n ')).rejects.toMatchObject({ code: 'invalid_input' })
  })
})

describe('exports', () => {
  beforeAll(async () => {
    await accept(byPath.get('a/red.jpg')!.id, 'a red square')
    await accept(byPath.get('b/red.jpg')!.id, 'a blue square')
    await accept(byPath.get('a/green.png')!.id, 'a green square, on gray')
  })

  it('writes metadata.jsonl in the root with paths relative to it', async () => {
    const r = (await services.call('exports.run', { format: 'jsonl' })) as ExportResult
    expect(r.files).toEqual([join(folder.root, 'metadata.jsonl')])
    const lines = readFileSync(r.files[0]!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file_name: string; text: string })
    expect(lines).toContainEqual({ file_name: 'a/red.jpg', text: 'a red square' })
    expect(lines).toContainEqual({ file_name: 'a/green.png', text: 'a green square, on gray' })
    expect(lines).toHaveLength(5)
    // Existing file kept by default, replaced with overwrite.
    const again = (await services.call('exports.run', { format: 'jsonl' })) as ExportResult
    expect(again.written).toBe(0)
    expect(((await services.call('exports.run', { format: 'jsonl', merge: 'overwrite' })) as ExportResult).written).toBe(5)
  })

  it('writes COCO and CSV into a chosen folder', async () => {
    const out = tempDir('out')
    const coco = (await services.call('exports.run', { format: 'coco', outDir: out })) as ExportResult
    const doc = JSON.parse(readFileSync(coco.files[0]!, 'utf8')) as { images: unknown[]; annotations: { caption: string }[] }
    expect(doc.images).toHaveLength(5)
    expect(doc.annotations.map((a) => a.caption)).toContain('a blue square')
    const csv = (await services.call('exports.run', { format: 'csv', outDir: out })) as ExportResult
    expect(readFileSync(csv.files[0]!, 'utf8')).toContain('a/green.png,"a green square, on gray"')
  })

  it('sidecars next to images: skip, overwrite and append modes; images untouched', async () => {
    const redTxt = join(folder.root, 'a/red.txt')
    const before = readFileSync(join(folder.root, 'a/red.jpg'))
    writeFileSync(redTxt, 'hand written\n')
    let r = (await services.call('exports.run', { format: 'txt' })) as ExportResult
    expect(readFileSync(redTxt, 'utf8')).toBe('hand written\n')
    expect(r.skipped).toBeGreaterThanOrEqual(1)
    r = (await services.call('exports.run', { format: 'txt', merge: 'append' })) as ExportResult
    expect(r.appended).toBeGreaterThanOrEqual(1)
    expect(readFileSync(redTxt, 'utf8')).toBe('hand written\na red square\n')
    r = (await services.call('exports.run', { format: 'txt', merge: 'append' })) as ExportResult
    expect(r.appended).toBe(0)
    expect(readFileSync(redTxt, 'utf8')).toBe('hand written\na red square\n')
    await services.call('exports.run', { format: 'txt', merge: 'overwrite' })
    expect(readFileSync(redTxt, 'utf8')).toBe('a red square\n')
    expect(readFileSync(join(folder.root, 'b/red.txt'), 'utf8')).toBe('a blue square\n')
    expect(readFileSync(join(folder.root, 'a/red.jpg')).equals(before)).toBe(true)
  })

  it('sidecars into a folder mirror subfolders so equal names never collide', async () => {
    const out = tempDir('side')
    const r = (await services.call('exports.run', { format: 'txt', outDir: out })) as ExportResult
    expect(r.conflicts).toEqual([])
    expect(readFileSync(join(out, 'a/red.txt'), 'utf8')).toBe('a red square\n')
    expect(readFileSync(join(out, 'b/red.txt'), 'utf8')).toBe('a blue square\n')
    expect(existsSync(join(out, 'b/deep/red-copy.txt'))).toBe(false)
  })

  it('append is refused for single-file formats, before the output folder is made', async () => {
    const out = join(tempDir('x'), 'not-yet')
    await expect(services.call('exports.run', { format: 'coco', merge: 'append', outDir: out })).rejects.toMatchObject({ code: 'invalid_input' })
    expect(existsSync(out)).toBe(false)
  })

})
