// The scan pipeline (src/main/library/scanner.ts, [Note: scan pipeline]) on generated folders: several files
// examined at once gives exactly the rows of the previous one-by-one path (duplicates, errors, decode
// failures included); a rescan of an unchanged library reads no file and makes no thumbnail; a changed
// file is read again and only that one.
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import type { ImageDetail, ImageSummary, ScanResult } from '../../src/shared/contract/library'
import { PREVIOUS_PATH, type ScanOptions } from '../../src/main/library/scanner'
import { readHashed } from '../../src/main/library/probe'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, svgScene, tempDir } from '../fixtures/images'

/** makeImageFolder plus 40 more photos in sub-folders, a few of them copies (duplicates) and empty files. */
async function library(): Promise<string> {
  const { root } = await makeImageFolder()
  for (let i = 0; i < 40; i++) {
    const dir = join(root, `album-${i % 4}`)
    mkdirSync(dir, { recursive: true })
    const p = join(dir, `p${String(i).padStart(2, '0')}.jpg`)
    if (i % 9 === 8) copyFileSync(join(root, 'album-0', 'p00.jpg'), p)
    else if (i % 13 === 12) writeFileSync(p, '')
    else await sharp(svgScene(60 + i, 40, `#${(0x100 + i * 5).toString(16).slice(-3)}`)).jpeg().toFile(p)
  }
  return root
}

async function scanned(root: string, scan: ScanOptions): Promise<{ s: Services; result: ScanResult }> {
  const s = createServices(tempDir('pipeline-data'), 'cli', { resumeJobs: false, scan })
  await s.call('library.addRoot', { path: root })
  const [result] = (await s.call('library.waitForScans', {})) as ScanResult[]
  return { s, result: result! }
}

/** Every row, visible or folded, as the facts a user can see: path, content, size, error, which it duplicates.
 *  Errors are compared by kind ("cannot decode image", "cannot read image"…): libvips keeps one error buffer
 *  per process, so with two decodes at once a truncated JPEG may say "Warning treated as error" instead of
 *  "premature end of JPEG image". */
async function facts(s: Services): Promise<Record<string, unknown>> {
  const { ids } = (await s.call('library.listIds', { filter: 'all' })) as { ids: number[] }
  const rows = (await s.call('library.getImages', { ids })) as ImageSummary[]
  const out: Record<string, unknown> = {}
  for (const r of rows) {
    const d = (await s.call('library.getImage', { id: r.id })) as ImageDetail
    out[r.relPath] = { hash: r.hash, width: r.width, height: r.height, error: r.error?.split(':')[0] ?? null, duplicates: d.duplicates, thumb: await s.ctx.thumbs.exists(r.hash) }
  }
  return out
}

function countingHash() {
  const calls: string[] = []
  return { calls, hash: (p: string) => (calls.push(p), readHashed(p)) }
}

describe('scan pipeline', () => {
  it('several files at once, batched writes and background thumbnails give the rows of the one-by-one path', async () => {
    const root = await library()
    const before = await scanned(root, PREVIOUS_PATH)
    // writeBatch 3: rows are written in many small transactions, so batch borders fall between duplicates
    const after = await scanned(root, { parallel: 8, writeBatch: 3 })
    try {
      const { rootId: _a, ...r1 } = before.result
      const { rootId: _b, ...r2 } = after.result
      expect(r2).toEqual(r1)
      expect(r2.duplicates).toBeGreaterThanOrEqual(4)
      expect(r2.errors).toBeGreaterThanOrEqual(5)
      const f1 = await facts(before.s)
      const f2 = await facts(after.s)
      expect(Object.keys(f2).length).toBe(r2.seen - r2.duplicates)
      expect(f2).toEqual(f1)
      expect(await after.s.call('library.counts', {})).toEqual(await before.s.call('library.counts', {}))
    } finally {
      await before.s.close()
      await after.s.close()
    }
  })

  it('a rescan of an unchanged library reads no file and makes no thumbnail; a touched file is read again, alone', async () => {
    const root = await library()
    const h = countingHash()
    const { s, result } = await scanned(root, { hash: h.hash })
    try {
      const readable = result.seen - result.skipped
      expect(h.calls.length).toBe(readable)
      const first = await facts(s)
      let decodes = 0
      const ensure = s.ctx.thumbs.ensure.bind(s.ctx.thumbs)
      s.ctx.thumbs.ensure = (hash, source) => (decodes++, ensure(hash, source))
      h.calls.length = 0
      const rootId = (result as ScanResult).rootId
      await s.call('library.rescan', { rootId })
      const [again] = (await s.call('library.waitForScans', {})) as ScanResult[]
      // only files with an error are looked at again ([Note: per-file errors]): they may have been fixed
      const errorPaths = Object.entries(first).filter(([, f]) => (f as { error: string | null }).error).map(([p]) => join(root, p))
      expect(errorPaths.length).toBeGreaterThanOrEqual(5)
      expect(h.calls.sort()).toEqual(errorPaths.sort())
      expect(decodes).toBe(1) // truncated.jpg: its header reads, its pixels do not, so it is decoded again
      expect(again).toMatchObject({ added: 0, changed: 0, moved: 0, missing: 0 })
      expect(await facts(s)).toEqual(first)

      const touched = join(root, 'album-1', 'p01.jpg')
      const when = new Date('2025-05-05T05:05:05Z')
      utimesSync(touched, when, when)
      h.calls.length = 0
      await s.call('library.rescan', { rootId })
      const [third] = (await s.call('library.waitForScans', {})) as ScanResult[]
      expect(h.calls.filter((p) => p === touched)).toEqual([touched])
      expect(h.calls.filter((p) => !errorPaths.includes(p))).toEqual([touched])
      expect(third!.changed).toBe(1)
    } finally {
      await s.close()
    }
  })
})
