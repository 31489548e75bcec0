// Serve host over real HTTP: every error kind answers its own status ([Note: http status]) with the typed
// envelope, each produced by a real cause (a bad image, a broken pack, a full disk through /dev/full, a
// refusing file system through /proc, a closed port) except `cancelled` and `internal`, which no public
// operation can be made to produce on demand: those two replace one handler.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StudioError } from '../../src/shared/errors'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { startServer, type RunningServer } from '../../src/main/serve/server'
import { createServices, type Services } from '../../src/main/services/services'
import type { Handlers } from '../../src/main/services/dispatch'
import { pngBomb } from '../fixtures/image-bytes'
import { makeImageFolder, tempDir, type ImageFolder } from '../fixtures/images'

let services: Services
let server: RunningServer
let folder: ImageFolder
let dataDir: string
const ids: Record<string, number> = {}

type Reply = { status: number; body: string; headers: Record<string, unknown>; json: () => { ok: boolean; error?: { code: string; message: string; reason?: string }; result?: unknown } }

function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  const u = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, json: () => JSON.parse(body) }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
const auth = () => ({ authorization: `Bearer ${server.token}` })
const api = (op: string, input: unknown, headers: Record<string, string> = {}) =>
  raw(`/api/${op}`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) })

async function expectError(r: Reply, status: number, code: string, reason?: string): Promise<void> {
  expect(r.status, r.body).toBe(status)
  expect(r.headers['content-type']).toMatch(/^application\/json/)
  const env = r.json()
  expect(env.ok).toBe(false)
  expect(env.error?.code).toBe(code)
  expect(typeof env.error?.message).toBe('string')
  if (reason) expect(env.error?.reason).toBe(reason)
}

/** Replace one handler for the duration of `fn` (only for the two kinds no real input can produce). */
async function withHandler<K extends keyof Handlers>(name: K, h: Handlers[K], fn: () => Promise<void>): Promise<void> {
  const before = services.handlers[name]
  services.handlers[name] = h
  try {
    await fn()
  } finally {
    services.handlers[name] = before
  }
}

beforeAll(async () => {
  folder = await makeImageFolder()
  writeFileSync(join(folder.root, 'bomb.png'), pngBomb(60_000, 60_000))
  dataDir = tempDir('status-data')
  services = createServices(dataDir, 'serve', { engine: new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 }) })
  server = await startServer(services, { rendererDir: tempDir('renderer') })
  await services.call('library.addRoot', { path: folder.root })
  await services.call('library.waitForScans', {})
  const { ids: all } = (await services.call('library.listIds', {})) as { ids: number[] }
  for (const s of (await services.call('library.getImages', { ids: all })) as { id: number; relPath: string }[]) ids[s.relPath] = s.id
})
afterAll(async () => {
  await server.close()
  await services.close()
})

describe('HTTP status follows the error kind', () => {
  it('400 invalid_input: schema, JSON, a folder that does not exist', async () => {
    await expectError(await api('library.getImage', { id: 'one' }), 400, 'invalid_input')
    await expectError(await raw('/api/system.info', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"a":' }), 400, 'invalid_input')
    await expectError(await api('library.addRoot', { path: join(folder.root, 'no-such-folder') }), 400, 'invalid_input')
    await expectError(await raw('/api/%E0%A4%A', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{}' }), 400, 'invalid_input')
    expect((await raw('//', { headers: auth() })).status).toBe(400) // new URL('//') throws: used to be a 500
  })

  it('401 without the token (enveloped under /api, with WWW-Authenticate); 403 for a refused authenticated request', async () => {
    const r = await raw('/api/system.info', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    await expectError(r, 401, 'unauthorized')
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
    // a malformed cookie is no token (it used to throw URIError: a 500)
    await expectError(await raw('/api/system.info', { method: 'POST', headers: { cookie: 'studio_token=%E0%A4%A', 'content-type': 'application/json' }, body: '{}' }), 401, 'unauthorized')
    await expectError(await api('library.waitForScans', {}), 403, 'unauthorized')
    await expectError(await api('system.info', {}, { origin: 'http://evil.example' }), 403, 'unauthorized')
    await expectError(await api('system.info', {}, { host: 'evil.example' }), 421, 'unauthorized')
  })

  it('404 not_found: an unknown image and an unknown operation', async () => {
    await expectError(await api('library.getImage', { id: 999_999 }), 404, 'not_found')
    await expectError(await api('no.such.op', {}), 404, 'not_found')
  })

  it('405, 413 and 415 for the wrong method, an oversized body and the wrong content type', async () => {
    await expectError(await raw('/api/system.info', { headers: auth() }), 405, 'invalid_input')
    await expectError(await raw('/api/system.info', { method: 'POST', headers: { ...auth(), 'content-type': 'text/plain' }, body: '{}' }), 415, 'invalid_input')
    // 8 MB: the server reads past the limit and drops it, so the client gets the 413 instead of a reset
    const big = JSON.stringify({ text: 'x'.repeat(8_000_000) })
    await expectError(await raw('/api/models.addCatalog', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: big }), 413, 'invalid_input')
    expect((await api('system.info', {})).status).toBe(200) // the server goes on
  })

  it('409 conflict: rejecting a caption twice; 409 cancelled', async () => {
    const imageId = ids['a/red.jpg']!
    const accepted = (await api('captions.accept', { imageId, text: 'a red square' })).json().result as { caption: { id: number } }
    expect((await api('captions.reject', { captionId: accepted.caption.id })).status).toBe(200)
    await expectError(await api('captions.reject', { captionId: accepted.caption.id }), 409, 'conflict')
    await withHandler('library.counts', () => Promise.reject(new StudioError('cancelled', 'cancelled')), async () => {
      await expectError(await api('library.counts', {}), 409, 'cancelled')
    })
  })

  it('422 decode_error: a truncated image over the API and as a thumbnail', async () => {
    await expectError(await api('captions.suggest', { imageId: ids['truncated.jpg']! }), 422, 'decode_error')
    const thumb = await raw(`/media/thumb/${ids['corrupt.jpg']!}`, { headers: auth() })
    expect(thumb.status).toBe(422)
  })

  it('422 model_error: a pack folder whose pack.json is broken', async () => {
    const pack = tempDir('broken-pack')
    writeFileSync(join(pack, 'pack.json'), '{"format": "caption-studio-pack/1", "id": ')
    await expectError(await api('models.install', { source: pack }), 422, 'model_error')
  })

  it('501 unsupported: captioning a decompression bomb (60,000² pixels in 100 bytes)', async () => {
    await expectError(await api('captions.suggest', { imageId: ids['bomb.png']! }), 501, 'unsupported')
  })

  it('502 io_error (network): a pack URL whose server is gone', async () => {
    const gone = createServer()
    await new Promise<void>((ok) => gone.listen(0, '127.0.0.1', ok))
    const port = (gone.address() as AddressInfo).port
    await new Promise<void>((ok) => gone.close(() => ok()))
    await expectError(await api('models.install', { source: `http://127.0.0.1:${port}/pack.json` }), 502, 'io_error', 'network')
  })

  // models.addCatalog keeps a picked file's text as <data>/catalogs/<name>-<sha8>.json, written through
  // <that>.tmp: a symlink there sends the real write to a device that answers as a full or refusing disk.
  const catalogTmp = (name: string, text: string) => join(dataDir, 'catalogs', `${name}-${createHash('sha256').update(text).digest('hex').slice(0, 8)}.json.tmp`)

  it('507 io_error (disk_full): a write that hits ENOSPC', async () => {
    const text = '{"format":"caption-studio-catalog/1","entries":[]}'
    mkdirSync(join(dataDir, 'catalogs'), { recursive: true })
    symlinkSync('/dev/full', catalogTmp('full', text))
    await expectError(await api('models.addCatalog', { text, name: 'full' }), 507, 'io_error', 'disk_full')
  })

  it('503 io_error (disk): a write the file system refuses (EIO as root, EACCES otherwise)', async () => {
    const text = '{"format":"caption-studio-catalog/1","entries": []}'
    mkdirSync(join(dataDir, 'catalogs'), { recursive: true })
    symlinkSync('/proc/version', catalogTmp('refused', text))
    await expectError(await api('models.addCatalog', { text, name: 'refused' }), 503, 'io_error', 'disk')
  })

  it('500 only for a real internal fault: a handler whose output breaks the contract', async () => {
    await withHandler('system.info', () => ({ host: 'nowhere' }) as never, async () => {
      await expectError(await api('system.info', {}), 500, 'internal')
    })
    expect((await api('system.info', {})).status).toBe(200)
  })
})
