// Host (plain Node: Electron main, serve or CLI). Installing a pack into the studio's packs folder, from a
// local folder or from a URL of its pack.json (every listed file is fetched relative to that URL).
// [Note: atomic install] Files land in `<packsDir>/.staging/<id>@<version>/` (kept across cancels so a
// download resumes), are verified against pack.json, and only then is the staging folder renamed onto
// `<packsDir>/<id>`; a previous version is moved aside first and removed after the swap. A pack that fails
// verification never becomes visible.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import * as v from 'valibot'
import { StudioError } from '@shared/errors'
import { downloadFile } from './download'
import { checkConsistency, readPackJson } from './pack'
import { PackJson } from './pack-schema'
import { VerifyCache, verifyFiles } from './verify'

export interface InstallProgress {
  phase: 'fetching' | 'copying' | 'verifying' | 'done'
  packId: string
  file?: string
  received: number
  total: number
}

export interface InstallOptions {
  signal?: AbortSignal
  onProgress?: (p: InstallProgress) => void
  cache?: VerifyCache
  /** Passed to each file download (tests shorten these). */
  download?: { retries?: number; idleTimeoutMs?: number; backoffMs?: number }
}

export interface InstallResult {
  id: string
  version: string
  dir: string
  files: number
  bytes: number
  replaced: boolean
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source)
}

async function fetchPackJson(url: string, signal?: AbortSignal): Promise<PackJson> {
  let res: Response
  try {
    res = await fetch(url, { signal })
  } catch (err) {
    if (signal?.aborted) throw new StudioError('cancelled', 'install cancelled')
    throw new StudioError('io_error', `could not fetch ${url}: ${(err as Error).message}`, 'network')
  }
  if (!res.ok) throw new StudioError(res.status === 404 ? 'not_found' : 'io_error', `HTTP ${res.status} from ${url}`, res.status === 404 ? undefined : 'network')
  let json: unknown
  try {
    json = await res.json()
  } catch {
    throw new StudioError('model_error', `${url} is not JSON`)
  }
  const parsed = v.safeParse(PackJson, json)
  if (!parsed.success) throw new StudioError('model_error', `${url}: invalid pack.json (${parsed.issues[0]?.message ?? 'invalid'})`)
  checkConsistency(parsed.output)
  return parsed.output
}

/** Rename `staging` onto `target`, moving a previous version aside first.
 *  [Note: swap aside] The previous version is moved to `<packsDir>/.staging/<name>.old-<pid>-<time>`: a dot
 *  folder, which the pack registry never lists. Found while writing kill9-import-pack.test.ts: it used to be
 *  `<target>.old-…` beside the packs, so a kill between the two renames left a second folder with the same
 *  pack id that the registry listed (and, sorting after the new one, preferred) forever. A kill in that
 *  window is undone at the next start by `restoreInterruptedSwaps`. */
export async function swapIn(staging: string, target: string): Promise<boolean> {
  const existed = await stat(target).then(() => true, () => false)
  const aside = join(dirname(target), '.staging', `${basename(target)}${OLD}${process.pid}-${Date.now()}`)
  if (existed) {
    await mkdir(dirname(aside), { recursive: true })
    await rename(target, aside)
  }
  try {
    await rename(staging, target)
  } catch (err) {
    if (existed) await rename(aside, target).catch(() => undefined)
    throw err
  }
  if (existed) await rm(aside, { recursive: true, force: true })
  return existed
}

const OLD = '.old-'

/** Startup (before any pack is listed): a previous version moved aside by a swap that was killed before
 *  the new version was renamed in is put back; one whose swap finished is removed. Returns how many were
 *  put back. Synchronous: a handful of renames, and nothing may list the packs before it ran. */
export function restoreInterruptedSwaps(packsDir: string): number {
  const dir = join(packsDir, '.staging')
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return 0
  }
  let restored = 0
  for (const n of names) {
    const at = n.lastIndexOf(OLD)
    if (at <= 0) continue
    const target = join(packsDir, n.slice(0, at))
    if (existsSync(target)) rmSync(join(dir, n), { recursive: true, force: true })
    else {
      renameSync(join(dir, n), target)
      restored++
    }
  }
  return restored
}

/** Install a pack from a folder path or an http(s) URL of its pack.json. */
export async function installPack(source: string, packsDir: string, opts: InstallOptions = {}): Promise<InstallResult> {
  const cache = opts.cache ?? new VerifyCache()
  const fromUrl = isUrl(source)
  const json = fromUrl ? await fetchPackJson(source, opts.signal) : await readPackJson(resolve(source))
  const total = json.files.reduce((s, f) => s + f.bytes, 0)
  const staging = join(packsDir, '.staging', `${json.id}@${json.version}`)
  await mkdir(staging, { recursive: true })
  const progress = (p: Omit<InstallProgress, 'packId' | 'total'>) => opts.onProgress?.({ ...p, packId: json.id, total })
  let done = 0
  for (const f of json.files) {
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'install cancelled')
    const dest = join(staging, f.path)
    await mkdir(resolve(dest, '..'), { recursive: true })
    const have = await stat(dest).catch(() => null)
    if (have && have.size === f.bytes) {
      // Already fetched by an earlier, interrupted install; verification below decides if it is good.
    } else if (fromUrl) {
      const url = new URL(f.path.split('/').map(encodeURIComponent).join('/'), source).toString()
      const base = done
      await downloadFile(url, dest, {
        sha256: f.sha256,
        bytes: f.bytes,
        signal: opts.signal,
        onProgress: (p) => progress({ phase: 'fetching', file: f.path, received: base + p.received }),
        ...opts.download
      })
    } else {
      progress({ phase: 'copying', file: f.path, received: done })
      await copyFile(join(resolve(source), f.path), dest)
    }
    done += f.bytes
  }
  await writeFile(join(staging, 'pack.json'), JSON.stringify(json, null, 2))
  progress({ phase: 'verifying', received: total })
  try {
    await verifyFiles(staging, json.files, cache, opts.signal)
  } catch (err) {
    // A bad staged file must not be reused by the next attempt.
    await rm(staging, { recursive: true, force: true })
    throw err
  }
  const target = join(packsDir, json.id)
  const replaced = await swapIn(staging, target)
  await cache.rekey(staging, target)
  progress({ phase: 'done', received: total })
  return { id: json.id, version: json.version, dir: target, files: json.files.length, bytes: total, replaced }
}

/** Remove leftovers of interrupted installs older than `maxAgeMs` (startup sweep). */
export async function sweepStaging(packsDir: string, maxAgeMs = 7 * 24 * 3600 * 1000): Promise<number> {
  const dir = join(packsDir, '.staging')
  const names = await readdir(dir).catch(() => [] as string[])
  let removed = 0
  for (const n of names) {
    const st = await stat(join(dir, n)).catch(() => null)
    if (st && Date.now() - st.mtimeMs > maxAgeMs) {
      await rm(join(dir, n), { recursive: true, force: true })
      removed++
    }
  }
  return removed
}
