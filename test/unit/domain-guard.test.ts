// [Note: domain guard] The demo pack warns on anything but its own samples; a photo pack never warns.
import { describe, expect, it } from 'vitest'
import { checkDomain } from '../../src/main/models/domain-guard'

const demo = { id: 'shapes-demo', domain: 'synthetic-shapes', dir: '/app/models/shapes-demo', samplesDir: 'samples' }

describe('domain guard', () => {
  it('is quiet when the demo pack captions its own samples', () => {
    expect(checkDomain(demo, ['/app/models/shapes-demo/samples', '/app/models/shapes-demo/samples/sub'], null).notice).toBeNull()
    expect(checkDomain(demo, [], null).notice).toBeNull()
  })
  it('warns and offers the photo pack when the library holds other folders', () => {
    const r = checkDomain(demo, ['/app/models/shapes-demo/samples', '/home/me/Photos'], '/app/models/shapes-demo/samples')
    expect(r.notice).toMatch(/only knows ShapesWorld/)
    expect(r.offer).toBe('photo-pack')
    expect(r.demoLibrary).toBe('/app/models/shapes-demo/samples')
    // a sibling whose name starts like the samples folder is not inside it
    expect(checkDomain(demo, ['/app/models/shapes-demo/samples-old'], null).notice).not.toBeNull()
  })
  it('never warns for a photo pack or a pack without a domain', () => {
    expect(checkDomain({ ...demo, id: 'photo-clip-vit-b32', domain: 'photos' }, ['/home/me/Photos'], null).notice).toBeNull()
    expect(checkDomain({ id: 'x', dir: '/p' }, ['/home/me/Photos'], null).notice).toBeNull()
  })
  it('offers the photo pack when no pack is usable at all', () => {
    expect(checkDomain(null, [], null)).toMatchObject({ packId: null, offer: 'photo-pack', notice: null })
  })
})
