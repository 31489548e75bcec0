// Library watching with real file-system events (chokidar on inotify): new, moved and deleted photos
// appear without a manual rescan, and sidecars written by another program are offered for re-import —
// but not the studio's own exports, whose content the library already has.
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ImageSummary } from '../../src/shared/contract/library'
import type { SidecarOffer } from '../../src/shared/contract/interop'
import { createServices, type Services } from '../../src/main/services/services'
import { tempDir } from '../fixtures/images'
import { copyPhotos, SAMPLE_DIR } from '../fixtures/photos'

let root: string
let services: Services

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const images = async () => {
  const { ids } = (await services.call('library.listIds', {})) as { ids: number[] }
  return (await services.call('library.getImages', { ids })) as ImageSummary[]
}
const offers = async () => ((await services.call('interop.sidecarOffers', {})) as { offers: SidecarOffer[] }).offers

beforeAll(async () => {
  root = tempDir('watch-lib')
  copyPhotos(root, { 'cat.png': 'chelsea.png', 'sub/coffee.png': 'coffee.png' })
  services = createServices(tempDir('watch-data'), 'cli')
  await services.call('library.addRoot', { path: root })
  await services.call('library.waitForScans', {})
  expect(await services.call('interop.watch', { enabled: true })).toEqual({ watching: true, roots: 1 })
})

afterAll(async () => {
  await services.call('interop.watch', { enabled: false })
  await services.close()
})

describe('watching the library roots', () => {
  it('a new photo appears, a moved one keeps its id, a deleted one becomes missing', async () => {
    copyFileSync(join(SAMPLE_DIR, 'astronaut.png'), join(root, 'astronaut.png'))
    await until('the new photo', async () => (await images()).some((i) => i.relPath === 'astronaut.png'))
    const cat = (await images()).find((i) => i.relPath === 'cat.png')!
    mkdirSync(join(root, 'moved'))
    renameSync(join(root, 'cat.png'), join(root, 'moved/cat.png'))
    const moved = await until('the move', async () => (await images()).find((i) => i.relPath === 'moved/cat.png'))
    expect(moved.id).toBe(cat.id)
    rmSync(join(root, 'sub/coffee.png'))
    await until('the deletion', async () => (await images()).find((i) => i.relPath === 'sub/coffee.png' && i.missing))
  })

  it('offers a sidecar another program wrote, not one the studio exported; applying it clears the offer', async () => {
    const astronaut = (await images()).find((i) => i.relPath === 'astronaut.png')!
    await services.call('captions.accept', { imageId: astronaut.id, text: 'an astronaut in a white suit' })
    await services.call('exports.run', { format: 'txt' })
    writeFileSync(join(root, 'moved/cat.txt'), 'a ginger cat, written by TagGUI\n')
    const offer = await until('the offer', async () => (await offers()).find((o) => o.path === join(root, 'moved/cat.txt')))
    expect(offer).toMatchObject({ format: 'txt', newCaptions: 1, conflicts: 0 })
    expect((await offers()).map((o) => o.path)).not.toContain(join(root, 'astronaut.txt'))

    await services.call('interop.importApply', { format: 'txt', path: offer.path })
    expect(await offers()).toEqual([])
    // A photo and its sidecar copied together: offered once the rescan has found the photo.
    copyFileSync(join(SAMPLE_DIR, 'rocket.jpg'), join(root, 'rocket.jpg'))
    writeFileSync(join(root, 'rocket.jpg.xmp'), `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>rocket</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>`)
    const x = await until('the xmp offer', async () => (await offers()).find((o) => o.path.endsWith('rocket.jpg.xmp')))
    expect(x).toMatchObject({ format: 'xmp', keywords: 1, newCaptions: 0 })
    await services.call('interop.dismissOffers', { paths: [root] })
    expect(await offers()).toEqual([])
  })
})
