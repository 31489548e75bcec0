// library/image-path.ts: the one resolution of an image id to its file (media routes, engine handlers,
// analysis): live root, existing file, real path under the root; the async and sync forms agree.
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveImage, resolveImageSync } from '../../src/main/library/image-path'
import { openDatabase } from '../../src/main/store/db'
import { ImagesRepo } from '../../src/main/store/images-repo'
import { tempDir } from '../fixtures/images'

describe('image path', () => {
  const lib = tempDir('image-path-root')
  const outside = tempDir('image-path-outside')
  writeFileSync(join(lib, 'a.png'), 'x')
  writeFileSync(join(outside, 'secret.png'), 'x')
  symlinkSync(join(outside, 'secret.png'), join(lib, 'link.png'))
  const images = new ImagesRepo(openDatabase(':memory:'))
  const root = images.addRoot(lib)
  const add = (relPath: string) => images.insert({ rootId: root.id, relPath, hash: `h-${relPath}`, bytes: 1, mtimeMs: 0, width: 1, height: 1, orientation: null, format: 'png', error: null, scanGen: 1 }, null)
  const ok = add('a.png')
  const gone = add('gone.png')
  const escapes = add('link.png')

  it('resolves a live image to its real path and hash, sync and async alike', async () => {
    expect(await resolveImage(images, ok)).toEqual({ path: join(lib, 'a.png'), hash: 'h-a.png' })
    expect(resolveImageSync(images, ok)).toBe(join(lib, 'a.png'))
  })

  it('refuses unknown ids, missing files and symlinks out of the root with not_found', async () => {
    for (const [id, msg] of [[999, /image 999 not found/], [gone, /missing or outside/], [escapes, /missing or outside/]] as const) {
      await expect(resolveImage(images, id)).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(msg) })
      expect(() => resolveImageSync(images, id)).toThrow(msg)
    }
  })

  it('refuses images of a removed root', async () => {
    images.removeRoot(root.id)
    await expect(resolveImage(images, ok)).rejects.toMatchObject({ code: 'not_found' })
    expect(() => resolveImageSync(images, ok)).toThrow(/not found/)
  })
})
