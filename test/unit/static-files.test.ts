// services/static-files.ts: the file serving both hosts share (serve's static route and the Electron
// studio:// protocol): content types, which renderer file a URL path names, the single-page fallback, and
// the web Response the Electron protocol returns.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contentTypeOf, openFile, rendererFile, toWebResponse } from '../../src/main/services/static-files'
import { tempDir } from '../fixtures/images'

describe('static files', () => {
  const outside = tempDir('static-outside')
  writeFileSync(join(outside, 'secret.txt'), 'root:secret')
  const dir = tempDir('static-renderer')
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>studio</title>')
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(dir, 'assets', 'app.css'), 'body{}')

  it('maps extensions to content types in any case, images included', () => {
    expect(contentTypeOf('/x/index.html')).toBe('text/html; charset=utf-8')
    expect(contentTypeOf('a.JS')).toBe('text/javascript; charset=utf-8')
    expect(contentTypeOf('a.jpeg')).toBe('image/jpeg')
    expect(contentTypeOf('thumb.webp')).toBe('image/webp')
    expect(contentTypeOf('a.tif')).toBe('image/tiff')
    expect(contentTypeOf('a.bin')).toBe('application/octet-stream')
  })

  it('resolves / and asset paths inside the renderer folder', async () => {
    const root = await rendererFile(dir, '/', { spaFallback: false })
    expect(root).toMatchObject({ ok: true, index: true, file: { type: 'text/html; charset=utf-8' } })
    const js = await rendererFile(dir, '/assets/app.js', { spaFallback: false })
    expect(js).toMatchObject({ ok: true, index: false, file: { path: join(dir, 'assets', 'app.js'), size: 14, type: 'text/javascript; charset=utf-8' } })
  })

  it('refuses paths that escape the folder, encoded or not, and undecodable ones', async () => {
    for (const p of ['/../secret.txt', '/assets/..%2F..%2Fsecret.txt', '/%2e%2e/%2e%2e/etc/passwd', '/%E0%A4%A']) {
      const r = await rendererFile(dir, p, { spaFallback: true })
      expect(r, p).toEqual({ ok: false, status: 400, message: 'bad path' })
    }
  })

  it('falls back to index.html only for extension-less paths, and only when asked', async () => {
    expect(await rendererFile(dir, '/review/42', { spaFallback: true })).toMatchObject({ ok: true, index: true })
    expect(await rendererFile(dir, '/review/42', { spaFallback: false })).toMatchObject({ ok: false, status: 404 })
    expect(await rendererFile(dir, '/assets/missing.js', { spaFallback: true })).toMatchObject({ ok: false, status: 404 })
    expect(await rendererFile(dir, '/assets', { spaFallback: false })).toMatchObject({ ok: false, status: 404 })
    const unbuilt = tempDir('static-empty')
    expect(await rendererFile(unbuilt, '/somewhere', { spaFallback: true })).toMatchObject({ ok: false, status: 404, message: expect.stringMatching(/npm run build/) })
  })

  it('streams a file as a web Response with its type, length and extra headers', async () => {
    const res = toWebResponse(await openFile(join(dir, 'assets', 'app.css')), { 'Content-Security-Policy': "default-src 'self'" })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(res.headers.get('content-length')).toBe('6')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'self'")
    expect(await res.text()).toBe('body{}')
    await expect(openFile(join(dir, 'assets'))).rejects.toThrow(/not a file/)
  })
})
