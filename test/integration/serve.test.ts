// The serve host in-process: token, Host and Origin checks, media trust, API envelope, events.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../src/main/serve/server'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, tempDir } from '../fixtures/images'

let services: Services
let server: RunningServer

function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

const auth = () => ({ authorization: `Bearer ${server.token}` })
const api = (op: string, input: unknown, headers: Record<string, string> = {}) =>
  raw(`/api/${op}`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) })

beforeAll(async () => {
  const folder = await makeImageFolder()
  services = createServices(tempDir('data'), 'serve')
  server = await startServer(services, { rendererDir: tempDir('renderer') })
  await services.call('library.addRoot', { path: folder.root })
  await services.call('library.waitForScans', {})
})
afterAll(async () => {
  await server.close()
  await services.close()
})

describe('serve host', () => {
  it('binds 127.0.0.1 and prints a URL with the token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.openUrl).toBe(`${server.url}/?token=${server.token}`)
  })

  it('refuses requests without the token, or with a wrong one', async () => {
    expect((await raw('/api/events')).status).toBe(401)
    expect((await raw('/media/thumb/1')).status).toBe(401)
    expect((await raw('/', {})).status).toBe(401)
    expect((await raw('/?token=wrong')).status).toBe(401)
    expect((await raw('/api/system.info', { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{}' })).status).toBe(401)
  })

  it('sets an HttpOnly SameSite cookie when opened with the token', async () => {
    const r = await raw(`/?token=${server.token}`)
    expect(r.status).toBe(302)
    expect(String(r.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/)
  })

  it('answers API calls with a typed envelope and validates input', async () => {
    const ok = await api('system.info', {})
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, result: { host: 'serve' } })
    const bad = await api('library.getImage', { id: -1 })
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    const garbage = await raw('/api/system.info', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{nope' })
    expect(garbage.status).toBe(400)
    expect((await api('nope.op', {})).status).toBe(404)
  })

  it('refuses internal operations over HTTP without the test flag ([Note: contract tiers])', async () => {
    for (const op of ['library.waitForScans', 'jobs.waitIdle', 'engine.setRealignment', 'engine.caption', 'engine.testFault']) {
      const r = await api(op, {})
      expect(r.status, op).toBe(403)
      expect(JSON.parse(r.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    }
    // the same operations run in-process, and over HTTP when the server was started for tests
    await expect(services.call('library.waitForScans', {})).resolves.toBeInstanceOf(Array)
    const testServer = await startServer(services, { rendererDir: tempDir('renderer'), testOps: true })
    try {
      const u = new URL(testServer.url)
      const r = await new Promise<number>((resolve, reject) => {
        const req = request({ host: u.hostname, port: u.port, path: '/api/library.waitForScans', method: 'POST', headers: { authorization: `Bearer ${testServer.token}`, 'content-type': 'application/json' } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end('{}')
      })
      expect(r).toBe(200)
    } finally {
      await testServer.close()
    }
  })

  it('refuses foreign Host headers and cross-origin posts', async () => {
    expect((await api('system.info', {}, { host: 'evil.example' })).status).toBe(421)
    expect((await api('system.info', {}, { origin: 'http://evil.example' })).status).toBe(403)
  })

  it('serves media by id only, and refuses traversal', async () => {
    const { ids } = JSON.parse((await api('library.listIds', { filter: 'accepted' })).body).result as { ids: number[] }
    expect(ids).toEqual([])
    const all = JSON.parse((await api('library.listIds', {})).body).result.ids as number[]
    const thumb = await raw(`/media/thumb/${all[0]}`, { headers: auth() })
    expect(thumb.status).toBe(200)
    expect(thumb.headers['content-type']).toBe('image/webp')
    for (const p of ['/media/image/..%2F..%2Fetc%2Fpasswd', '/media/image/../../etc/passwd', '/media/image/%2e%2e/x', '/media/image/999999']) {
      const r = await raw(p, { headers: auth() })
      expect([400, 404]).toContain(r.status)
      expect(r.body).not.toContain('root:')
    }
    expect((await raw('/../../etc/passwd', { headers: auth() })).body).not.toContain('root:')
  })
})
