import { describe, expect, it } from 'vitest'
import type { ExportRow } from '../../src/main/exports/export-rows'
import { csvField, toCoco, toCsv, toJsonl } from '../../src/main/exports/file-export'
import { sidecarRelPath } from '../../src/main/exports/sidecar-export'

const rows: ExportRow[] = [
  { imageId: 1, rootId: 1, rootPath: '/r', relPath: 'a/x.jpg', width: 10, height: 20, text: 'a red square', captionId: 7 },
  { imageId: 2, rootId: 1, rootPath: '/r', relPath: 'b,c.png', width: null, height: null, text: 'say "hi", then\nleave', captionId: 9 }
]

describe('export formats', () => {
  it('sidecar names keep the folder and swap the extension', () => {
    expect(sidecarRelPath('a/b/photo.final.JPG')).toBe('a/b/photo.final.txt')
    expect(sidecarRelPath('x.png')).toBe('x.txt')
  })
  it('metadata.jsonl has one file_name/text object per line', () => {
    const lines = toJsonl(rows).trim().split('\n').map((l) => JSON.parse(l) as unknown)
    expect(lines).toEqual([
      { file_name: 'a/x.jpg', text: 'a red square' },
      { file_name: 'b,c.png', text: 'say "hi", then\nleave' }
    ])
  })
  it('CSV quotes commas, quotes and newlines (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(toCsv(rows).split('\r\n')[0]).toBe('file_name,text')
    expect(toCsv(rows)).toContain('"b,c.png","say ""hi"", then\nleave"')
  })
  it('COCO captions JSON links annotations to images', () => {
    const coco = JSON.parse(toCoco(rows)) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; caption: string; id: number }[] }
    expect(coco.images.map((i) => i.file_name)).toEqual(['a/x.jpg', 'b,c.png'])
    expect(coco.annotations).toEqual([
      { id: 7, image_id: 1, caption: 'a red square' },
      { id: 9, image_id: 2, caption: 'say "hi", then\nleave' }
    ])
  })
})
