// Verified, resumable downloads and pack installs against a local node:http server that injects faults:
// truncated bodies, stalls, HTTP 500, wrong bytes, servers that ignore Range, and cancellation.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downloadFile } from '../../src/main/engine/packs/download'
import { installPack } from '../../src/main/engine/packs/install'
import { loadPack } from '../../src/main/engine/packs/pack'
import { writeFakePack } from './helpers/fake-pack'

const BODY = randomBytes(256 * 1024)
const SHA = createHash('sha256').update(BODY).digest('hex')
const hits = new Map<string, number>()
const ranges: string[] = []
let server: Server
let base: string
let dir: string
let packDir: string

function serveBytes(req: IncomingMessage, res: ServerResponse, body: Buffer, opts: { honourRange?: boolean; cutAfter?: number; stallAfter?: number } = {}) {
  const range = req.headers.range
  if (range) ranges.push(`${req.url} ${range}`)
  let start = 0
  if (range && opts.honourRange !== false) {
    start = Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0)
    res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` })
  } else res.writeHead(200, { 'content-length': body.length })
  const part = body.subarray(start)
  if (opts.cutAfter !== undefined) {
    res.write(part.subarray(0, opts.cutAfter))
    setTimeout(() => res.socket?.destroy(), 20)
    return
  }
  if (opts.stallAfter !== undefined) {
    res.write(part.subarray(0, opts.stallAfter))
    return // never ends: the client's idle timeout must fire
  }
  res.end(part)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'engine-dl-'))
  packDir = join(dir, 'src-pack')
  writeFakePack(packDir)
  server = createServer((req, res) => {
    const url = req.url ?? ''
    const n = (hits.get(url) ?? 0) + 1
    hits.set(url, n)
    if (url === '/ok') return serveBytes(req, res, BODY)
    if (url === '/trunc') return serveBytes(req, res, BODY, n === 1 ? { cutAfter: 100_000 } : {})
    if (url === '/stall') return serveBytes(req, res, BODY, n === 1 ? { stallAfter: 50_000 } : {})
    if (url === '/e500') {
      if (n <= 2) {
        res.writeHead(500)
        return res.end('boom')
      }
      return serveBytes(req, res, BODY)
    }
    if (url === '/always500') {
      res.writeHead(500)
      return res.end()
    }
    if (url === '/wrong') return serveBytes(req, res, Buffer.from(BODY).fill(7, 1000, 1010))
    if (url === '/norange') return serveBytes(req, res, BODY, n === 1 ? { cutAfter: 70_000, honourRange: false } : { honourRange: false })
    if (url === '/slow') {
      // 64 KiB every 50 ms.
      res.writeHead(200, { 'content-length': BODY.length })
      let off = 0
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t)
        res.write(BODY.subarray(off, off + 65536))
        off += 65536
        if (off >= BODY.length) {
          clearInterval(t)
          res.end()
        }
      }, 50)
      return
    }
    const m = /^\/pack\/(.+)$/.exec(url)
    if (m) {
      const name = decodeURIComponent(m[1]!)
      const file = join(packDir, name)
      if (!existsSync(file)) {
        res.writeHead(404)
        return res.end()
      }
      // The decoder is truncated on its first request.
      return serveBytes(req, res, readFileSync(file), name === 'decoder.onnx' && n === 1 ? { cutAfter: 100 } : {})
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

const fast = { backoffMs: 10, idleTimeoutMs: 2000 }

describe('downloadFile', () => {
  it('downloads and verifies, reporting progress', async () => {
    const seen: number[] = []
    const r = await downloadFile(`${base}/ok`, join(dir, 'ok.bin'), { sha256: SHA, bytes: BODY.length, onProgress: (p) => seen.push(p.received), ...fast })
    expect(r).toMatchObject({ bytes: BODY.length, sha256: SHA, attempts: 1, resumes: 0 })
    expect(readFileSync(join(dir, 'ok.bin')).equals(BODY)).toBe(true)
    expect(seen[seen.length - 1]).toBe(BODY.length)
    expect(existsSync(join(dir, 'ok.bin.part'))).toBe(false)
  })

  it('resumes a truncated transfer with a Range request', async () => {
    const r = await downloadFile(`${base}/trunc`, join(dir, 'trunc.bin'), { sha256: SHA, bytes: BODY.length, ...fast })
    expect(r.resumes).toBe(1)
    expect(r.attempts).toBe(2)
    expect(ranges.some((x) => x.startsWith('/trunc bytes=100000-'))).toBe(true)
    expect(readFileSync(join(dir, 'trunc.bin')).equals(BODY)).toBe(true)
  })

  it('resumes after a stalled response (idle timeout)', async () => {
    const r = await downloadFile(`${base}/stall`, join(dir, 'stall.bin'), { sha256: SHA, bytes: BODY.length, backoffMs: 10, idleTimeoutMs: 300 })
    expect(r.resumes).toBe(1)
    expect(readFileSync(join(dir, 'stall.bin')).equals(BODY)).toBe(true)
  })

  it('retries HTTP 500 and gives up with a clear error when it persists', async () => {
    const r = await downloadFile(`${base}/e500`, join(dir, 'e500.bin'), { sha256: SHA, ...fast })
    expect(r.attempts).toBe(3)
    await expect(downloadFile(`${base}/always500`, join(dir, 'x.bin'), { retries: 2, ...fast })).rejects.toThrow(/failed after 3 attempts: HTTP 500/)
  })

  it('refuses wrong bytes and leaves nothing behind', async () => {
    await expect(downloadFile(`${base}/wrong`, join(dir, 'wrong.bin'), { sha256: SHA, ...fast })).rejects.toThrow(/sha256 mismatch/)
    expect(existsSync(join(dir, 'wrong.bin'))).toBe(false)
    expect(existsSync(join(dir, 'wrong.bin.part'))).toBe(false)
  })

  it('restarts when the server ignores Range', async () => {
    const r = await downloadFile(`${base}/norange`, join(dir, 'norange.bin'), { sha256: SHA, bytes: BODY.length, ...fast })
    expect(r.resumes).toBe(0)
    expect(r.attempts).toBe(2)
    expect(readFileSync(join(dir, 'norange.bin')).equals(BODY)).toBe(true)
  })

  it('cancels with an AbortSignal, keeps the partial file, and resumes later', async () => {
    const ctl = new AbortController()
    const dest = join(dir, 'slow.bin')
    const p = downloadFile(`${base}/slow`, dest, { sha256: SHA, bytes: BODY.length, signal: ctl.signal, onProgress: (pr) => pr.received >= 65536 && ctl.abort(), ...fast })
    await expect(p).rejects.toMatchObject({ code: 'cancelled' })
    const partial = statSync(`${dest}.part`).size
    expect(partial).toBeGreaterThan(0)
    expect(partial).toBeLessThan(BODY.length)
    const r = await downloadFile(`${base}/slow`, dest, { sha256: SHA, bytes: BODY.length, ...fast })
    expect(readFileSync(dest).equals(BODY)).toBe(true)
    expect(r.bytes).toBe(BODY.length)
  })
})

describe('installPack', () => {
  it('installs from a URL, surviving a truncated file, then loads', async () => {
    const packsDir = join(dir, 'packs-url')
    const phases = new Set<string>()
    const r = await installPack(`${base}/pack/pack.json`, packsDir, { onProgress: (p) => phases.add(p.phase), download: fast })
    expect(r).toMatchObject({ id: 'fake', files: 10, replaced: false })
    expect([...phases]).toEqual(expect.arrayContaining(['fetching', 'verifying', 'done']))
    expect((hits.get('/pack/decoder.onnx') ?? 0)).toBeGreaterThanOrEqual(2)
    const pack = await loadPack(r.dir)
    expect(pack.json.id).toBe('fake')
    expect(existsSync(join(packsDir, '.staging', 'fake@0.0.1'))).toBe(false)
  })

  it('installs from a folder and replaces an older copy atomically', async () => {
    const packsDir = join(dir, 'packs-folder')
    const a = await installPack(packDir, packsDir)
    expect(a.replaced).toBe(false)
    const b = await installPack(packDir, packsDir)
    expect(b.replaced).toBe(true)
    expect((await loadPack(b.dir)).verify.checked).toBe(10)
  })

  it('refuses a folder pack with a corrupted file and installs nothing', async () => {
    const bad = join(dir, 'bad-pack')
    writeFakePack(bad)
    const f = join(bad, 'datastore.f32')
    const buf = readFileSync(f)
    buf[5] = buf[5]! ^ 0xff
    writeFileSync(f, buf)
    const packsDir = join(dir, 'packs-bad')
    await expect(installPack(bad, packsDir)).rejects.toThrow(/datastore\.f32 is corrupted/)
    expect(existsSync(join(packsDir, 'fake'))).toBe(false)
  })
})
