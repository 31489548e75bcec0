// Library scanning on a temporary folder of real images (formats, EXIF orientation 6, corrupt, truncated,
// duplicate), then rescans with moved, deleted and changed files.
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ImageDetail, ImageSummary, ScanResult } from '../../src/shared/contract/library'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, svgScene, tempDir, type ImageFolder } from '../fixtures/images'

let folder: ImageFolder
let services: Services
let first: ScanResult

async function all(): Promise<ImageSummary[]> {
  const { ids } = (await services.call('library.listIds', { filter: 'all' })) as { ids: number[] }
  return (await services.call('library.getImages', { ids })) as ImageSummary[]
}

beforeAll(async () => {
  folder = await makeImageFolder()
  services = createServices(tempDir('data'), 'cli')
  await services.call('library.addRoot', { path: folder.root })
  first = ((await services.call('library.waitForScans', {})) as ScanResult[])[0]!
})

describe('library scan', () => {
  it('lists every image file, skips hidden and non-image files, and hides duplicates', async () => {
    const images = await all()
    const paths = images.map((i) => i.relPath).sort()
    expect(paths).toEqual(['a/green.png', 'a/red.jpg', 'alpha.png', 'anim.gif', 'b/deep/blue.webp', 'b/photo.tiff', 'b/red.jpg', 'corrupt.jpg', 'rotated.jpg', 'truncated.jpg'])
    expect(first.duplicates).toBe(1)
    const counts = (await services.call('library.counts', {})) as Record<string, number>
    expect(counts).toMatchObject({ total: 10, duplicates: 1, errors: 2, uncaptioned: 8 })
  })

  it('lists files that fail to decode with their error instead of dropping them', async () => {
    const images = await all()
    const corrupt = images.find((i) => i.relPath === 'corrupt.jpg')!
    const truncated = images.find((i) => i.relPath === 'truncated.jpg')!
    expect(corrupt.error).toMatch(/cannot read image/)
    expect(truncated.error).toMatch(/cannot decode image/)
    const { ids } = (await services.call('library.listIds', { filter: 'errors' })) as { ids: number[] }
    expect(ids.sort()).toEqual([corrupt.id, truncated.id].sort())
  })

  it('applies EXIF orientation 6 to dimensions and thumbnails', async () => {
    const rotated = (await all()).find((i) => i.relPath === 'rotated.jpg')!
    expect([rotated.width, rotated.height]).toEqual([40, 80])
    const detail = (await services.call('library.getImage', { id: rotated.id })) as ImageDetail
    expect(detail.orientation).toBe(6)
    const thumb = services.ctx.thumbs.pathFor(rotated.hash)
    const meta = await sharp(thumb).metadata()
    expect(meta.height! > meta.width!).toBe(true)
  })

  it('reads the first frame of a GIF and TIFF/WebP files', async () => {
    const images = await all()
    for (const name of ['anim.gif', 'b/photo.tiff', 'b/deep/blue.webp']) {
      const img = images.find((i) => i.relPath === name)!
      expect(img.error).toBeNull()
      expect(img.width).toBeGreaterThan(0)
    }
  })

  it('records the duplicate path on the canonical image', async () => {
    const red = (await all()).find((i) => i.relPath === 'a/red.jpg')!
    const detail = (await services.call('library.getImage', { id: red.id })) as ImageDetail
    expect(detail.duplicates).toEqual(['b/deep/red-copy.jpg'])
  })

  it('rescan finds moved, missing and changed files and keeps captions of moved ones', async () => {
    const green = (await all()).find((i) => i.relPath === 'a/green.png')!
    await services.call('captions.accept', { imageId: green.id, text: 'a green square' })
    renameSync(join(folder.root, 'a/green.png'), join(folder.root, 'b/green-moved.png'))
    rmSync(join(folder.root, 'anim.gif'))
    await sharp(svgScene(64, 48, '#000')).png().toFile(join(folder.root, 'b/photo2.png'))
    writeFileSync(join(folder.root, 'b/photo.tiff'), await sharp(svgScene(90, 30, '#fff')).tiff().toBuffer())
    const root = ((await services.call('library.listRoots', {})) as { id: number }[])[0]!
    await services.call('library.rescan', { rootId: root.id })
    const r = ((await services.call('library.waitForScans', {})) as ScanResult[])[0]!
    expect(r).toMatchObject({ moved: 1, missing: 1, changed: 1, added: 1 })
    const images = await all()
    const moved = images.find((i) => i.relPath === 'b/green-moved.png')!
    expect(moved.id).toBe(green.id)
    expect(moved.caption).toBe('a green square')
    expect(images.find((i) => i.relPath === 'anim.gif')!.missing).toBe(true)
    expect(images.find((i) => i.relPath === 'b/photo.tiff')!.width).toBe(90)
  })

  it('refuses a folder that does not exist with a clear error', async () => {
    await expect(services.call('library.addRoot', { path: join(folder.root, 'nope') })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/does not exist/) })
  })
})
