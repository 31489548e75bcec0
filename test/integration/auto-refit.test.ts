// Auto-refit ("learn from my captions" after N accepts) on the demo pack, in-process engine: it runs once
// enough captions are accepted, and a burst of caption changes costs one accepted-count query, not one per
// change (a batch job emits a change per image; counting each time scanned the library per image).
import { cpSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { createServices, type Services } from '../../src/main/services/services'
import { tempDir } from '../fixtures/images'

const SAMPLES = join(__dirname, '..', '..', 'models', 'shapes-demo', 'samples')
type Status = { last: { heldOut: number } | null; acceptsSince: number; accepted: number }

describe.skipIf(!existsSync(SAMPLES))('auto-refit after N accepts', () => {
  let services: Services

  beforeAll(async () => {
    const photos = tempDir('autorefit-photos')
    cpSync(SAMPLES, photos, { recursive: true })
    services = createServices(tempDir('autorefit-data'), 'cli', { engine: new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 }) })
    await services.call('library.addRoot', { path: photos })
    await services.call('library.waitForScans', {})
  }, 60_000)

  afterAll(async () => {
    await services?.close()
  })

  it('refits once the threshold is crossed, with one count for a burst of accepts', async () => {
    const refs = JSON.parse(readFileSync(join(SAMPLES, 'refs.json'), 'utf8')) as Record<string, string[]>
    const { ids } = (await services.call('library.listIds', {})) as { ids: number[] }
    const images = (await services.call('library.getImages', { ids })) as { id: number; fileName: string }[]
    const withRef = images.filter((i) => refs[i.fileName]?.[0])
    expect(withRef.length).toBeGreaterThanOrEqual(12)
    await services.call('analysis.setRefitEvery', { every: 10 })
    // Warm the engine (an accepted caption is scored against its image) before timing the burst.
    await services.call('captions.accept', { imageId: withRef[0]!.id, text: refs[withRef[0]!.fileName]![0] })
    await new Promise((r) => setTimeout(r, 1500))
    expect(((await services.call('analysis.refitStatus', {})) as Status).last).toBeNull()

    const counted = vi.spyOn(services.ctx.images, 'acceptedCount')
    const scanned = vi.spyOn(services.ctx.images, 'counts')
    for (const img of withRef.slice(1, 12)) await services.call('captions.accept', { imageId: img.id, text: refs[img.fileName]![0] })
    await new Promise((r) => setTimeout(r, 1500))
    // 11 changes, one count (plus the refit's own record of where it ran, if it has finished); before, every
    // change ran a full counts() scan of the library.
    expect(scanned).not.toHaveBeenCalled()
    expect(counted.mock.calls.length).toBeGreaterThanOrEqual(1)
    expect(counted.mock.calls.length).toBeLessThanOrEqual(2)
    let status = (await services.call('analysis.refitStatus', {})) as Status
    for (let t = 0; t < 100 && !status.last; t++) {
      await new Promise((r) => setTimeout(r, 100))
      status = (await services.call('analysis.refitStatus', {})) as Status
    }
    expect(status.last).not.toBeNull()
    expect(status.last!.heldOut).toBeGreaterThan(0)
    expect(status.accepted).toBe(12)
    expect(status.acceptsSince).toBe(0)
  }, 60_000)
})
