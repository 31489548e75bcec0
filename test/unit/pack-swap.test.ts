// The pack swap ([Note: swap aside] in src/main/engine/packs/install.ts): the previous version of a pack is
// moved aside into a dot folder the registry never lists, and a swap killed between its two renames is
// undone at the next start (PackRegistry runs restoreInterruptedSwaps when it is made).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { restoreInterruptedSwaps, swapIn } from '../../src/main/engine/packs/install'

function packs(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'pack-swap-')), 'packs')
  mkdirSync(join(dir, '.staging'), { recursive: true })
  return dir
}
const folder = (at: string, version: string) => {
  mkdirSync(at, { recursive: true })
  writeFileSync(join(at, 'v.txt'), version)
}

describe('pack swap', () => {
  it('replaces a pack and leaves nothing beside it or in staging', async () => {
    const dir = packs()
    folder(join(dir, 'p'), 'old')
    folder(join(dir, '.staging', 'p@new'), 'new')
    expect(await swapIn(join(dir, '.staging', 'p@new'), join(dir, 'p'))).toBe(true)
    expect(readFileSync(join(dir, 'p', 'v.txt'), 'utf8')).toBe('new')
    expect(readdirSync(dir)).toEqual(['.staging', 'p'])
    expect(readdirSync(join(dir, '.staging'))).toEqual([])
  })

  it('a swap killed after moving the old version aside: the old version is put back at the next start', async () => {
    const dir = packs()
    folder(join(dir, '.staging', 'p.old-123-456'), 'old') // what swapIn leaves when killed between its renames
    folder(join(dir, '.staging', 'p@new'), 'new')
    expect(readdirSync(dir).filter((n) => !n.startsWith('.'))).toEqual([]) // hidden from the registry meanwhile
    expect(restoreInterruptedSwaps(dir)).toBe(1)
    expect(readFileSync(join(dir, 'p', 'v.txt'), 'utf8')).toBe('old')
    expect(existsSync(join(dir, '.staging', 'p@new'))).toBe(true) // a build's staging is its own business
  })

  it('a swap killed after the new version was renamed in: the old copy is removed', () => {
    const dir = packs()
    folder(join(dir, 'p'), 'new')
    folder(join(dir, '.staging', 'p.old-123-456'), 'old')
    expect(restoreInterruptedSwaps(dir)).toBe(0)
    expect(readFileSync(join(dir, 'p', 'v.txt'), 'utf8')).toBe('new')
    expect(readdirSync(join(dir, '.staging'))).toEqual([])
  })

  it('no packs folder yet: nothing to do', () => {
    expect(restoreInterruptedSwaps(join(tmpdir(), 'no-such-packs-folder-here'))).toBe(0)
  })
})
