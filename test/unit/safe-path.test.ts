import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isInside, resolveUnderRoot, resolveUnderRootSync } from '../../src/main/library/safe-path'
import { parseMediaPath } from '../../src/main/services/media'
import { tempDir } from '../fixtures/images'

describe('isInside', () => {
  it('accepts children and refuses parents, siblings and prefixes', () => {
    expect(isInside('/lib/photos', '/lib/photos/a/b.jpg')).toBe(true)
    expect(isInside('/lib/photos', '/lib/photos')).toBe(false)
    expect(isInside('/lib/photos', '/lib/photos2/x.jpg')).toBe(false)
    expect(isInside('/lib/photos', '/lib/x.jpg')).toBe(false)
    expect(isInside('/lib/photos', '/etc/passwd')).toBe(false)
  })
})

describe('resolveUnderRoot', () => {
  const root = tempDir('root')
  const outside = tempDir('outside')
  mkdirSync(join(root, 'sub'))
  writeFileSync(join(root, 'sub', 'ok.jpg'), 'x')
  writeFileSync(join(outside, 'secret.txt'), 'secret')
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link.jpg'))
  symlinkSync(outside, join(root, 'linkdir'))

  it('resolves a file under the root', async () => {
    expect(await resolveUnderRoot(root, 'sub/ok.jpg')).toMatch(/sub\/ok\.jpg$/)
  })
  it('refuses traversal, absolute paths and NUL bytes', async () => {
    expect(await resolveUnderRoot(root, '../outside/secret.txt')).toBeNull()
    expect(await resolveUnderRoot(root, 'sub/../../etc/passwd')).toBeNull()
    expect(await resolveUnderRoot(root, '/etc/passwd')).toBeNull()
    expect(await resolveUnderRoot(root, 'sub/ok.jpg\0.png')).toBeNull()
  })
  it('refuses symlinks that escape the root', async () => {
    expect(await resolveUnderRoot(root, 'link.jpg')).toBeNull()
    expect(await resolveUnderRoot(root, 'linkdir/secret.txt')).toBeNull()
  })
  it('refuses a file that is itself a symlink, also one that stays inside the root', async () => {
    symlinkSync(join(root, 'sub', 'ok.jpg'), join(root, 'alias.jpg'))
    expect(await resolveUnderRoot(root, 'alias.jpg')).toBeNull()
    expect(resolveUnderRootSync(root, 'alias.jpg')).toBeNull()
    expect(resolveUnderRootSync(root, 'sub/ok.jpg')).toMatch(/sub\/ok\.jpg$/)
  })
  it('refuses files that do not exist', async () => {
    expect(await resolveUnderRoot(root, 'nope.jpg')).toBeNull()
  })
})

describe('parseMediaPath', () => {
  it('accepts only /media/(thumb|image)/<positive id>', () => {
    expect(parseMediaPath('/media/thumb/12')).toEqual({ kind: 'thumb', id: 12 })
    expect(parseMediaPath('/media/image/1')).toEqual({ kind: 'image', id: 1 })
    expect(parseMediaPath('/media/image/0')).toBeNull()
    expect(parseMediaPath('/media/image/..%2Fetc')).toBeNull()
    expect(parseMediaPath('/media/file/1')).toBeNull()
    expect(parseMediaPath('/media/image/1/../../x')).toBeNull()
  })
})
