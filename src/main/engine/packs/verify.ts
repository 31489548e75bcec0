// Engine worker / host (plain Node). sha256 verification of a pack's files.
// [Note: verify once per change] Hashing every file on every load would cost seconds for a real CLIP pack
// (~600 MB), so a verified file's (size, mtimeMs, sha256) is remembered in memory and, when the caller gives
// a cache file, in a small JSON (the pack folder itself may be read-only, e.g. bundled in the app). A file is
// hashed again when its size or mtime changed, when the declared sha256 changed, or when no record exists.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { StudioError } from '@shared/errors'

export interface FileRecord {
  path: string
  bytes: number
  sha256: string
}

interface CacheEntry {
  size: number
  mtimeMs: number
  sha256: string
}

export interface VerifyReport {
  checked: number
  hashed: number
  fromCache: number
  ms: number
}

/** [Note: hashing yields] Hashing runs on the calling thread (node:crypto has no asynchronous digest), and
 *  chunks already read are handed over without a turn of the event loop: installing a 350 MB pack in the
 *  host held its loop for 40–63 ms at a time (bench profile, hash.update). So the loop gets a turn whenever
 *  hashing has run for YIELD_MS since the last one. */
const YIELD_MS = 8

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256')
  const stream = createReadStream(path, { highWaterMark: 1 << 20 })
  let since = performance.now()
  for await (const chunk of stream) {
    if (signal?.aborted) {
      stream.destroy()
      throw new StudioError('cancelled', 'verification cancelled')
    }
    hash.update(chunk as Buffer)
    if (performance.now() - since > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve))
      since = performance.now()
    }
  }
  return hash.digest('hex')
}

/** In-memory + optional on-disk record of verified files, keyed by absolute path. */
export class VerifyCache {
  private readonly entries = new Map<string, CacheEntry>()
  private loaded = false

  constructor(private readonly file?: string) {}

  private async load(): Promise<void> {
    if (this.loaded) return
    this.loaded = true
    if (!this.file) return
    try {
      const raw = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, CacheEntry>
      for (const [k, e] of Object.entries(raw)) {
        if (e && typeof e.size === 'number' && typeof e.mtimeMs === 'number' && typeof e.sha256 === 'string') this.entries.set(k, e)
      }
    } catch {
      // No cache yet, or unreadable: everything is simply hashed again.
    }
  }

  async get(path: string): Promise<CacheEntry | undefined> {
    await this.load()
    return this.entries.get(path)
  }

  async set(path: string, entry: CacheEntry): Promise<void> {
    await this.load()
    this.entries.set(path, entry)
  }

  async delete(path: string): Promise<void> {
    await this.load()
    this.entries.delete(path)
  }

  /** After a folder was renamed: move its records (rename keeps size and mtime). */
  async rekey(fromDir: string, toDir: string): Promise<void> {
    await this.load()
    const from = resolve(fromDir)
    for (const [k, e] of [...this.entries]) {
      if (k.startsWith(from + '/') || k.startsWith(from + '\\')) {
        this.entries.delete(k)
        this.entries.set(resolve(toDir) + k.slice(from.length), e)
      }
    }
    await this.save().catch(() => undefined)
  }

  async save(): Promise<void> {
    if (!this.file) return
    await mkdir(dirname(this.file), { recursive: true })
    const tmp = `${this.file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.entries)))
    await rename(tmp, this.file)
  }
}

/**
 * Check that every listed file exists with the declared size and sha256. Throws a StudioError naming the
 * first missing, resized or corrupted file. Never loads a model.
 */
export async function verifyFiles(dir: string, files: readonly FileRecord[], cache: VerifyCache, signal?: AbortSignal): Promise<VerifyReport> {
  const t0 = performance.now()
  let hashed = 0
  let fromCache = 0
  for (const f of files) {
    const abs = resolve(join(dir, f.path))
    let st
    try {
      st = await stat(abs)
    } catch {
      throw new StudioError('not_found', `pack file missing: ${f.path} (expected in ${dir})`)
    }
    if (!st.isFile()) throw new StudioError('model_error', `pack file ${f.path} is not a regular file`)
    if (st.size !== f.bytes) {
      await cache.delete(abs)
      throw new StudioError('model_error', `pack file ${f.path} has ${st.size} bytes, pack.json says ${f.bytes} (incomplete or replaced file)`)
    }
    const known = await cache.get(abs)
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs && known.sha256 === f.sha256) {
      fromCache++
      continue
    }
    const actual = await sha256File(abs, signal)
    hashed++
    if (actual !== f.sha256) {
      await cache.delete(abs)
      throw new StudioError('model_error', `pack file ${f.path} is corrupted: sha256 ${actual.slice(0, 12)}… does not match pack.json (${f.sha256.slice(0, 12)}…)`)
    }
    await cache.set(abs, { size: st.size, mtimeMs: st.mtimeMs, sha256: actual })
  }
  if (hashed > 0) await cache.save().catch(() => undefined)
  return { checked: files.length, hashed, fromCache, ms: performance.now() - t0 }
}
