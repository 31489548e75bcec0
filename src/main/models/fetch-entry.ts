// Main process / serve / CLI (plain Node; I/O only). Fetching a catalog entry's pinned files into the
// download cache `<dataDir>/downloads/<entry key>/<path>` ([Note: pinned catalog]).
// [Note: verified download] reused: every file streams through downloadFile (resumable, hashed while
// streaming, `.part` kept across cancels). A zip source is downloaded whole (its size is only approximate,
// so it is not pinned), then each pinned member is streamed out of it with yauzl and hashed; only a member
// whose sha256 matches its pin is renamed into place. A file already in the cache is re-hashed, never trusted.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import yauzl from 'yauzl'
import { StudioError } from '@shared/errors'
import { downloadKey, fileUrl } from '../engine/packs/catalog'
import type { CatalogEntry, CatalogFile } from '../engine/packs/catalog-schema'
import { downloadFile } from '../engine/packs/download'
import { sha256File } from '../engine/packs/verify'

export interface FetchProgress {
  file: string
  received: number
  /** Bytes of the whole entry, when known. */
  total: number | null
}

export interface FetchOptions {
  signal?: AbortSignal
  onProgress?: (p: FetchProgress) => void
  env?: NodeJS.ProcessEnv
  download?: { retries?: number; idleTimeoutMs?: number; backoffMs?: number }
}

export const entryDir = (downloadsDir: string, entry: CatalogEntry): string => join(downloadsDir, downloadKey(entry))

async function matchesPin(path: string, f: CatalogFile): Promise<boolean> {
  const st = await stat(path).catch(() => null)
  if (!st || !st.isFile() || (f.bytes !== null && st.size !== f.bytes)) return false
  return (await sha256File(path)) === f.sha256
}

function pinError(entry: CatalogEntry, f: CatalogFile, got: { bytes: number; sha256: string }): StudioError {
  return new StudioError(
    'model_error',
    `refused ${entry.id}/${f.path}: its bytes do not match the catalog pin (got ${got.bytes} bytes, sha256 ${got.sha256.slice(0, 12)}…; expected ${f.bytes ?? 'any size'}, ${f.sha256.slice(0, 12)}…). The file was not installed.`
  )
}

/** Download (or re-verify) every pinned file of an entry; returns the folder that holds them. */
export async function fetchEntry(entry: CatalogEntry, downloadsDir: string, opts: FetchOptions = {}): Promise<string> {
  const dir = entryDir(downloadsDir, entry)
  await mkdir(dir, { recursive: true })
  if (entry.source.hub === 'url' && entry.source.archive) return fetchArchive(entry, dir, opts)
  const known = entry.files.every((f) => f.bytes !== null) ? entry.files.reduce((s, f) => s + f.bytes!, 0) : null
  let base = 0
  for (const f of entry.files) {
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'download cancelled')
    const dest = join(dir, f.path)
    if (!(await matchesPin(dest, f))) {
      await rm(dest, { force: true })
      try {
        await downloadFile(fileUrl(entry, f, opts.env), dest, {
          sha256: f.sha256,
          ...(f.bytes !== null ? { bytes: f.bytes } : {}),
          signal: opts.signal,
          onProgress: (p) => opts.onProgress?.({ file: f.path, received: base + p.received, total: known }),
          ...opts.download
        })
      } catch (err) {
        if (err instanceof StudioError && err.code === 'io_error' && /sha256 mismatch|expected \d+|more bytes/.test(err.message)) {
          throw new StudioError('model_error', `refused ${entry.id}/${f.path}: ${err.message}. The file was not installed.`)
        }
        throw err
      }
    }
    base += f.bytes ?? 0
    opts.onProgress?.({ file: f.path, received: base, total: known })
  }
  return dir
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((ok, fail) => yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => (err || !zip ? fail(err ?? new Error('no zip')) : ok(zip))))
}

/** Stream the named members out of a zip (hashing them); returns name → { tmp path, bytes, sha256 }. */
async function extractMembers(zipPath: string, wanted: Map<string, string>, signal?: AbortSignal): Promise<Map<string, { bytes: number; sha256: string }>> {
  let zip: yauzl.ZipFile
  try {
    zip = await openZip(zipPath)
  } catch (err) {
    throw new StudioError('model_error', `${zipPath} is not a readable zip archive: ${(err as Error).message}`)
  }
  const found = new Map<string, { bytes: number; sha256: string }>()
  try {
    await new Promise<void>((done, fail) => {
      zip.on('error', fail)
      zip.on('end', () => done())
      zip.on('entry', (e: yauzl.Entry) => {
        const dest = wanted.get(e.fileName)
        if (!dest || signal?.aborted) return zip.readEntry()
        zip.openReadStream(e, (err, stream) => {
          if (err || !stream) return fail(err ?? new Error('no stream'))
          const hash = createHash('sha256')
          let bytes = 0
          const tap = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              hash.update(chunk)
              bytes += chunk.length
              cb(null, chunk)
            }
          })
          mkdir(dirname(dest), { recursive: true })
            .then(() => pipeline(stream, tap, createWriteStream(dest), { signal }))
            .then(() => {
              found.set(e.fileName, { bytes, sha256: hash.digest('hex') })
              zip.readEntry()
            }, fail)
        })
      })
      zip.readEntry()
    })
  } catch (err) {
    if (signal?.aborted) throw new StudioError('cancelled', 'extraction cancelled')
    throw new StudioError('model_error', `could not extract from ${zipPath}: ${(err as Error).message}`)
  } finally {
    zip.close()
  }
  return found
}

async function fetchArchive(entry: CatalogEntry, dir: string, opts: FetchOptions): Promise<string> {
  const pending = []
  for (const f of entry.files) if (!(await matchesPin(join(dir, f.path), f))) pending.push(f)
  if (pending.length === 0) return dir
  const zipPath = join(dir, '.archive.zip')
  const approx = entry.source.hub === 'url' ? (entry.source.archive?.approxBytes ?? null) : null
  const source = entry.source as { url: string }
  await downloadFile(source.url, zipPath, { signal: opts.signal, onProgress: (p) => opts.onProgress?.({ file: source.url, received: p.received, total: p.total ?? approx }), ...opts.download })
  const wanted = new Map(pending.map((f) => [f.path, join(dir, `${f.path}.part`)]))
  const got = await extractMembers(zipPath, wanted, opts.signal)
  for (const f of pending) {
    const tmp = wanted.get(f.path)!
    const g = got.get(f.path)
    if (!g) {
      await rm(zipPath, { force: true })
      throw new StudioError('model_error', `refused ${entry.id}: ${source.url} has no member ${f.path}. Nothing was installed.`)
    }
    if (g.sha256 !== f.sha256 || (f.bytes !== null && g.bytes !== f.bytes)) {
      await rm(tmp, { force: true })
      await rm(zipPath, { force: true })
      throw pinError(entry, f, g)
    }
    await rename(tmp, join(dir, f.path))
  }
  await rm(zipPath, { force: true })
  return dir
}
