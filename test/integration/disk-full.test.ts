// A full disk during a write, for real: the data dir and the library live on a small tmpfs mounted for the
// test (`mount -t tmpfs -o size=…`; needs root, skipped with a message otherwise), filled to the last byte by
// a filler file. Then: an accept fails with io_error/disk_full (HTTP 507 over serve), the previous accepted
// caption is intact, `PRAGMA integrity_check` is ok; a .txt and a metadata.jsonl export fail the same way
// and leave no truncated sidecar and no temp file; once the filler is removed both work again.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toEnvelope } from '../../src/shared/errors'
import { createServices, type Services } from '../../src/main/services/services'
import { tempDir } from '../fixtures/images'
import { dbPath, serveBuilt, startServeChild } from '../fixtures/serve-process'

const MOUNT = tempDir('disk-full-mount')
/** Why a tmpfs cannot be mounted here, or null once it is. */
function mountTmpfs(): string | null {
  if (process.getuid?.() !== 0) return 'not root (mount -t tmpfs needs CAP_SYS_ADMIN)'
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', MOUNT], { stdio: 'pipe' })
    return null
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)}`
  }
}
const why = mountTmpfs()
if (why) console.warn(`disk-full.test.ts skipped: ${why}`)

const FILLER = join(MOUNT, 'filler')
/** Write the filler until the filesystem says ENOSPC; returns the bytes written. */
function fill(): number {
  const fd = openSync(FILLER, 'a')
  const chunk = Buffer.alloc(64 * 1024, 7)
  let n = 0
  try {
    for (;;) n += writeSync(fd, chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  }
  // the last partial pages too
  try {
    for (;;) n += writeSync(fd, chunk.subarray(0, 512))
  } catch {
    // ENOSPC
  }
  closeSync(fd)
  return n
}
const free = () => rmSync(FILLER, { force: true })

const dataDir = join(MOUNT, 'data')
const photos = join(MOUNT, 'photos')
let s: Services
let ids: number[]

async function errorOf(p: Promise<unknown>): Promise<ReturnType<typeof toEnvelope>> {
  try {
    await p
  } catch (err) {
    return toEnvelope(err)
  }
  throw new Error('expected the call to fail')
}

function integrity(): string {
  const db = new Database(dbPath(dataDir), { readonly: true })
  try {
    return db.pragma('integrity_check', { simple: true }) as string
  } finally {
    db.close()
  }
}

/** Every sidecar under `dir` with its content; temp files of atomic writes are listed too. */
function sidecars(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const n of readdirSync(dir)) if (/\.(txt|tmp|jsonl)$/.test(n)) out.set(n, readFileSync(join(dir, n), 'utf8'))
  return out
}

describe.skipIf(!!why)('a full disk (tmpfs)', () => {
  beforeAll(async () => {
    mkdirSync(photos)
    for (let i = 0; i < 6; i++) await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i * 40, g: 90, b: 200 - i * 30 } } }).png().toFile(join(photos, `p${i}.png`))
    s = createServices(dataDir, 'cli', { resumeJobs: false })
    await s.call('library.addRoot', { path: photos })
    await s.call('library.waitForScans', {})
    ids = ((await s.call('library.listIds', {})) as { ids: number[] }).ids
    expect(ids.length).toBe(6)
    for (const [k, id] of ids.entries()) await s.call('captions.accept', { imageId: id, text: `the first caption of picture ${k}` })
  }, 60_000)

  afterAll(async () => {
    await s?.close().catch(() => undefined)
    try {
      execFileSync('umount', ['-l', MOUNT], { stdio: 'pipe' })
    } catch {
      // already gone
    }
  })

  it('an accept on a full disk: io_error disk_full, the previous caption intact, the database not corrupt, works once space frees', async () => {
    const filled = fill()
    expect(filled).toBeGreaterThan(0)
    // several writes: the first ones may still fit in pages SQLite already holds
    const lastOk = new Map<number, string>()
    for (const [k, id] of ids.entries()) lastOk.set(id, `the first caption of picture ${k}`)
    const results: ReturnType<typeof toEnvelope>[] = []
    let failedOn = -1
    for (let round = 0; round < 40 && results.length === 0; round++) {
      for (const [k, id] of ids.entries()) {
        const text = `a second caption of picture ${k}, round ${round}, ${'padding '.repeat(400).trim()}`
        try {
          await s.call('captions.accept', { imageId: id, text })
          lastOk.set(id, text)
        } catch (err) {
          results.push(toEnvelope(err))
          failedOn = id
          break
        }
      }
    }
    expect(results.length, 'no write failed on a full disk').toBe(1)
    expect(results[0]).toMatchObject({ code: 'io_error', reason: 'disk_full' })
    expect(results[0]!.message).toMatch(/disk|full|space/i)
    // the failed accept changed nothing: every image's accepted caption is the last one that succeeded
    for (const id of ids) {
      const cur = ((await s.call('captions.forImage', { imageId: id })) as { accepted: { text: string } | null }).accepted
      expect(cur?.text, `image ${id}${id === failedOn ? ' (its accept failed)' : ''}`).toBe(lastOk.get(id))
    }
    expect(integrity()).toBe('ok')
    free()
    const ok = (await s.call('captions.accept', { imageId: ids[0]!, text: 'written after the disk was freed' })) as { caption: { text: string } }
    expect(ok.caption.text).toBe('written after the disk was freed')
    expect(integrity()).toBe('ok')
  }, 120_000)

  it('exports on a full disk: the error is io_error disk_full, no truncated sidecar and no temp file is left', async () => {
    const out = join(MOUNT, 'out')
    mkdirSync(out)
    fill()
    for (const format of ['txt', 'jsonl'] as const) {
      const err = await errorOf(s.call('exports.run', { format, outDir: out, merge: 'overwrite' }))
      expect(err, format).toMatchObject({ code: 'io_error', reason: 'disk_full' })
    }
    // whatever was written is whole; the one that failed is not there at all
    const expected = new Map<string, string>()
    for (const id of ids) {
      const img = (await s.call('library.getImage', { id })) as { relPath: string }
      const cur = ((await s.call('captions.forImage', { imageId: id })) as { accepted: { text: string } }).accepted
      expected.set(img.relPath.replace(/\.png$/, '.txt'), `${cur.text}\n`)
    }
    const left = sidecars(out)
    for (const [n, text] of left) {
      expect(n, 'a temp file was left').not.toMatch(/\.tmp$/)
      expect(n, 'a metadata.jsonl on a full disk').not.toBe('metadata.jsonl')
      expect(text, `${n} is truncated`).toBe(expected.get(n))
    }
    free()
    for (const format of ['txt', 'jsonl'] as const) await s.call('exports.run', { format, outDir: out, merge: 'overwrite' })
    const after = sidecars(out)
    for (const [n, text] of expected) expect(after.get(n), n).toBe(text)
    expect(after.get('metadata.jsonl')?.trim().split('\n').length).toBe(ids.length)
    expect([...after.keys()].filter((n) => n.endsWith('.tmp'))).toEqual([])
  }, 120_000)

  it.skipIf(!serveBuilt)('over serve HTTP: a full disk answers 507 with io_error disk_full, and serve keeps answering', async () => {
    await s.close()
    const serve = await startServeChild(dataDir)
    try {
      fill()
      let res: Response | null = null
      for (let round = 0; round < 40; round++) {
        const r = await fetch(`${serve.url}/api/captions.accept`, { method: 'POST', headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ imageId: ids[1], text: `over http, round ${round}, ${'padding '.repeat(400)}` }) })
        if (!r.ok) {
          res = r
          break
        }
      }
      expect(res, 'no write failed on a full disk').not.toBeNull()
      expect(res!.status).toBe(507)
      const env = (await res!.json()) as { ok: boolean; error: { code: string; reason?: string; message: string } }
      expect(env).toMatchObject({ ok: false, error: { code: 'io_error', reason: 'disk_full' } })
      // still serving: a read works on the full disk
      const info = await serve.call<{ host: string }>('system.info', {})
      expect(info.host).toBe('serve')
      free()
      await serve.call('captions.accept', { imageId: ids[1]!, text: 'after the disk was freed, over http' })
    } finally {
      free()
      await serve.stop()
    }
    expect(integrity()).toBe('ok')
    s = createServices(dataDir, 'cli', { resumeJobs: false })
  }, 120_000)
})
