// The fleet's pure rules: a worker's roots map (parse, longest prefix, `..`, symlinks, missing files), Redis
// URLs (parse, refuse, redact) and the protocol's canonical hashing (equal values hash equally, any change
// of content, pack or options changes the result key).
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canonicalJson, optionsHash, resultKey } from '../../src/main/fleet/protocol'
import { parseRedisUrl, redactUrl } from '../../src/main/fleet/redis'
import { mapPath, parseRoots } from '../../src/main/fleet/roots'
import { tempDir } from '../fixtures/images'

describe('worker roots', () => {
  const base = realpathSync(tempDir('roots'))
  const photos = join(base, 'mnt', 'photos')
  const archive = join(base, 'mnt', 'archive')
  const secret = join(base, 'secret')
  for (const d of [join(photos, 'trip'), archive, secret]) mkdirSync(d, { recursive: true })
  writeFileSync(join(photos, 'trip', 'a.png'), 'a')
  writeFileSync(join(archive, 'b.png'), 'b')
  writeFileSync(join(secret, 'key.png'), 'k')
  symlinkSync(join(secret, 'key.png'), join(photos, 'trip', 'link.png'))
  symlinkSync(secret, join(photos, 'secret-dir'))
  const roots = parseRoots(['/studio/photos=' + photos, '/studio/photos/old=' + archive])

  it('parses several mappings and refuses malformed ones', () => {
    expect(parseRoots(['/a=/x,/b/=/y', 'C:\\Photos=/z'])).toEqual([
      { from: '/a', to: '/x' },
      { from: '/b', to: '/y' },
      { from: 'C:/Photos', to: '/z' }
    ])
    expect(() => parseRoots(['/a'])).toThrow(/PRODUCER_PREFIX=LOCAL_FOLDER/)
    expect(() => parseRoots(['relative=/x'])).toThrow(/not an absolute path/)
    expect(() => parseRoots(['/a=relative'])).toThrow(/not an absolute path/)
  })

  it('maps by the longest prefix to the real local path', async () => {
    expect(await mapPath(roots, '/studio/photos/trip/a.png')).toBe(join(photos, 'trip', 'a.png'))
    expect(await mapPath(roots, '/studio/photos/old/b.png')).toBe(join(archive, 'b.png'))
    expect(await mapPath(parseRoots(['C:\\Studio=' + photos]), 'C:\\Studio\\trip\\a.png')).toBe(join(photos, 'trip', 'a.png'))
  })

  it('refuses paths outside every root, `..` escapes and symlinks that leave the root', async () => {
    await expect(mapPath(roots, '/elsewhere/a.png')).rejects.toMatchObject({ code: 'unauthorized' })
    await expect(mapPath(roots, '/studio/photosX/a.png')).rejects.toMatchObject({ code: 'unauthorized' })
    await expect(mapPath(roots, '/studio/photos/../photos/trip/a.png')).resolves.toBe(join(photos, 'trip', 'a.png'))
    await expect(mapPath(roots, '/studio/photos/trip/../../../secret/key.png')).rejects.toMatchObject({ code: 'unauthorized' })
    await expect(mapPath(roots, '/studio/photos/trip/link.png')).rejects.toThrow(/resolves outside this worker's root/)
    await expect(mapPath(roots, '/studio/photos/secret-dir/key.png')).rejects.toMatchObject({ code: 'unauthorized' })
    await expect(mapPath(roots, '/studio/photos/trip/a.png\0')).rejects.toMatchObject({ code: 'unauthorized' })
    await expect(mapPath([], '/studio/photos/trip/a.png')).rejects.toThrow(/outside this worker's roots \(none\)/)
  })

  it('tells a missing file inside a root from one outside', async () => {
    await expect(mapPath(roots, '/studio/photos/trip/gone.png')).rejects.toMatchObject({ code: 'not_found' })
  })
})

describe('Redis URLs', () => {
  it('parses host, port, database, credentials and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 })
    expect(parseRedisUrl('rediss://user:p%40ss@redis.local')).toEqual({ host: 'redis.local', port: 6379, db: 0, username: 'user', password: 'p@ss', tls: {} })
    expect(parseRedisUrl('redis://[::1]:7000')).toMatchObject({ host: '::1', port: 7000 })
  })

  it('refuses other schemes and bad databases with the reason, and never prints the password', () => {
    expect(() => parseRedisUrl('http://x:1')).toThrow(/redis:\/\/ or rediss:\/\//)
    expect(() => parseRedisUrl('redis://x/99')).toThrow(/database must be 0–15/)
    expect(() => parseRedisUrl('nonsense')).toThrow(/not a Redis URL/)
    expect(redactUrl('redis://user:secret@h:1/0')).toBe('redis://user:***@h:1/0')
    expect(redactUrl('redis://:secret@h')).toBe('redis://:***@h')
    expect(redactUrl('redis://h:1')).toBe('redis://h:1')
  })
})

describe('fleet protocol hashing', () => {
  const pack = { id: 'p', version: '1', fingerprint: 'f'.repeat(64) }
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: undefined, z: null }] })).toBe('{"a":[{"y":2,"z":null}],"b":1}')
    expect(optionsHash({ seed: 1, regions: 'patch' })).toBe(optionsHash({ regions: 'patch', seed: 1 }))
    expect(optionsHash({ seed: 1 })).not.toBe(optionsHash({ seed: 2 }))
  })

  it('the result key changes with the content, the pack (id, version, fingerprint) and the options', () => {
    const k = resultKey('a'.repeat(64), pack, optionsHash({}))
    expect(k).toMatch(/^[0-9a-f]{64}$/)
    expect(resultKey('a'.repeat(64), pack, optionsHash({}))).toBe(k)
    for (const other of [
      resultKey('b'.repeat(64), pack, optionsHash({})),
      resultKey('a'.repeat(64), { ...pack, version: '2' }, optionsHash({})),
      resultKey('a'.repeat(64), { ...pack, fingerprint: 'e'.repeat(64) }, optionsHash({})),
      resultKey('a'.repeat(64), pack, optionsHash({ seed: 3 }))
    ])
      expect(other).not.toBe(k)
  })
})
