// The scope of a caption job resolved in bulk ([Note: scope in bulk], src/main/jobs/scope.ts) must pick the
// same images, in the same order, as the image-by-image check it replaced (written out here as the reference):
// readable, not missing, in the root or the ids given (each once, the caller's order), uncaptioned if asked.
import { describe, expect, it } from 'vitest'
import type { CaptionJobRequest } from '../../src/shared/contract/jobs'
import { resolveScope } from '../../src/main/jobs/scope'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, tempDir } from '../fixtures/images'

function reference(services: Services, req: CaptionJobRequest): number[] {
  const { images, captions } = services.ctx
  const s = req.scope
  const ids = s.kind === 'ids' ? s.ids : s.kind === 'filter' ? images.listIds(s.filter, '') : images.listIds('all', '').filter((id) => images.get(id)?.root_id === s.rootId)
  const usable = ids.filter((id) => {
    const img = images.get(id)
    return img && !img.error && !img.missing && (!req.onlyUncaptioned || !captions.accepted(id))
  })
  return [...new Set(usable)]
}

describe('job scope', () => {
  it('matches the per-image check for root, filter and ids scopes, with and without onlyUncaptioned', async () => {
    const services = createServices(tempDir('scope'), 'cli', { captioner: async () => ({ candidates: [] }) })
    const a = (await services.call('library.addRoot', { path: (await makeImageFolder()).root })) as { id: number }
    // the second root holds the same files again: its images are duplicates, which the 'all' listing leaves out
    const b = (await services.call('library.addRoot', { path: (await makeImageFolder()).root })) as { id: number }
    await services.call('library.waitForScans', {})
    const { ids } = (await services.call('library.listIds', { filter: 'all' })) as { ids: number[] }
    await services.call('captions.accept', { imageId: ids[1]!, text: 'by hand' })
    await services.call('captions.accept', { imageId: ids[ids.length - 2]!, text: 'by hand too' })
    services.ctx.db.prepare(`UPDATE images SET missing = 1 WHERE id = ?`).run(ids[3]!)
    const unreadable = services.ctx.db.prepare(`SELECT count(*) AS n FROM images WHERE error IS NOT NULL`).get() as { n: number }
    expect(unreadable.n).toBeGreaterThan(0) // the fixture has unreadable files, so the error filter is exercised
    const shuffled = [...ids].reverse()
    const scopes: CaptionJobRequest['scope'][] = [
      { kind: 'root', rootId: a.id },
      { kind: 'root', rootId: b.id },
      { kind: 'filter', filter: 'all' },
      { kind: 'filter', filter: 'uncaptioned' },
      { kind: 'ids', ids: [...shuffled, shuffled[0]!, ids[2]!, 999999] }
    ]
    for (const scope of scopes) {
      for (const onlyUncaptioned of [false, true]) {
        const req = { scope, onlyUncaptioned } as CaptionJobRequest
        const got = resolveScope(services.ctx, req)
        expect(got, JSON.stringify(req)).toEqual(reference(services, req))
      }
    }
    expect(resolveScope(services.ctx, { scope: scopes[0]!, onlyUncaptioned: true } as CaptionJobRequest).length).toBeGreaterThan(2)
    expect(() => resolveScope(services.ctx, { scope: { kind: 'root', rootId: 12345 } } as CaptionJobRequest)).toThrow(/not found/)
    await services.close()
  })
})
