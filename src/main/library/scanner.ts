// Main process (plain Node). Scans a library root: a streaming walk, then per file a stat, a content hash
// (only when size or mtime changed), and a header probe; then a background pass makes thumbnails and so
// finds files that fail to fully decode. Rescans find new, changed, moved and missing files.
// [Note: moves] A file that vanished from one path and whose content hash re-appears at a new path in the
// same scan keeps its row (id, captions); the new row is folded into it.
// [Note: per-file errors] A bad file is that file's error, on its own row, and the scan goes on: a header
// that does not parse, a bomb, a link, a FIFO, a name that is not UTF-8, a file that cannot be read or was
// swapped for something else mid-scan. A file that cannot be hashed gets a hash of its own name, so it is
// never a duplicate of anything; a file with an error is never folded into another as a duplicate (two
// empty files are not the same photo), and it is looked at again on every rescan (it may have been fixed).
// What cannot be named at all (a folder that cannot be opened) is counted in `skipped` and named in
// `problems` (the first MAX_PROBLEMS).
import { createHash } from 'node:crypto'
import { lstat } from 'node:fs/promises'
import type { ScanResult } from '@shared/contract/library'
import type { StudioEvent } from '@shared/contract/events'
import type { ImagesRepo, NewImage } from '../store/images-repo'
import { hashFile, probeImage, type ImageFacts } from './probe'
import type { Thumbnails } from './thumbnails'
import { walkImages, type WalkEntry } from './walk'

export interface ScanDeps {
  images: ImagesRepo
  thumbs: Thumbnails
  emit(event: StudioEvent): void
}

const EMIT_EVERY_MS = 250
export const MAX_PROBLEMS = 100

const NO_FACTS = { width: null, height: null, orientation: null, format: null }

/** The hash of a file that could not be hashed: unique to its path, so never anyone's duplicate. */
function placeholderHash(rootId: number, relPath: string): string {
  return `unread-${createHash('sha256').update(`${rootId}\0${relPath}`).digest('hex').slice(0, 50)}`
}

export async function scanRoot(deps: ScanDeps, rootId: number, rootPath: string, signal?: AbortSignal): Promise<ScanResult> {
  const { images, thumbs, emit } = deps
  const scanGen = Date.now()
  const firstNewId = images.maxId()
  const result: ScanResult = { rootId, seen: 0, added: 0, changed: 0, moved: 0, missing: 0, duplicates: 0, errors: 0, skipped: 0, problems: [] }
  const needThumb: { id: number; hash: string; abs: string }[] = []
  let lastEmit = 0
  const progress = (phase: 'walking' | 'done' | 'failed', currentPath?: string, message?: string) => {
    emit({ type: 'library.scan', rootId, phase, seen: result.seen, added: result.added, errors: result.errors, ...(currentPath ? { currentPath } : {}), ...(message ? { message } : {}) })
  }
  const skip = (path: string, message: string) => {
    result.skipped++
    if (result.problems.length < MAX_PROBLEMS) result.problems.push({ path: path.startsWith(rootPath) ? path.slice(rootPath.length + 1) : path, message })
  }
  /** Insert or update the row of `entry`; `facts.error` set means a per-file error. Returns the row id. */
  const record = (entry: WalkEntry, hash: string, bytes: number, mtimeMs: number, facts: ImageFacts): { id: number; duplicate: boolean } => {
    const row: NewImage = { rootId, relPath: entry.relPath, hash, bytes, mtimeMs, scanGen, ...facts }
    if (facts.error) result.errors++
    const known = images.byPath(rootId, entry.relPath)
    if (known) {
      images.updateContent(known.id, row)
      if (known.hash !== hash || known.bytes !== bytes || known.mtime_ms !== mtimeMs) result.changed++
      return { id: known.id, duplicate: false }
    }
    const canonical = facts.error ? undefined : images.canonicalByHash(hash)
    const id = images.insert(row, canonical && !canonical.missing ? canonical.id : null)
    if (canonical && !canonical.missing) {
      result.duplicates++
      return { id, duplicate: true }
    }
    result.added++
    return { id, duplicate: false }
  }
  const fail = (entry: WalkEntry, bytes: number, mtimeMs: number, error: string) => {
    const known = images.byPath(rootId, entry.relPath)
    record(entry, known?.hash ?? placeholderHash(rootId, entry.relPath), bytes, mtimeMs, { ...NO_FACTS, error })
  }

  for await (const entry of walkImages(rootPath, (dir, err) => skip(dir, `cannot read folder: ${err.message}`))) {
    if (signal?.aborted) break
    result.seen++
    let st
    try {
      st = await lstat(entry.absPath)
    } catch (err) {
      if (entry.problem) fail(entry, 0, 0, entry.problem)
      else skip(entry.absPath, `vanished while scanning: ${(err as Error).message}`)
      continue
    }
    if (entry.problem || !st.isFile()) {
      fail(entry, st.size, st.mtimeMs, entry.problem ?? 'not a regular file any more (replaced since the folder was read)')
      continue
    }
    const known = images.byPath(rootId, entry.relPath)
    if (known && known.bytes === st.size && known.mtime_ms === st.mtimeMs && !known.error) {
      images.markSeen(known.id, scanGen)
      if (!known.duplicate_of) needThumb.push({ id: known.id, hash: known.hash, abs: entry.absPath })
    } else {
      let hash: string
      try {
        hash = await hashFile(entry.absPath)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') skip(entry.absPath, 'vanished while scanning')
        else fail(entry, st.size, st.mtimeMs, `cannot read file: ${(err as Error).message}`)
        continue
      }
      const facts = await probeImage(entry.absPath)
      const r = record(entry, hash, st.size, st.mtimeMs, facts)
      if (!facts.error && !r.duplicate) needThumb.push({ id: r.id, hash, abs: entry.absPath })
    }
    const now = Date.now()
    if (now - lastEmit > EMIT_EVERY_MS) {
      lastEmit = now
      progress('walking', entry.relPath)
      emit({ type: 'library.changed' })
    }
  }

  if (!signal?.aborted) {
    // Missing files, and moves: a missing row whose content appeared at a new path in this scan.
    const gone = images.markUnseenMissing(rootId, scanGen)
    for (const old of gone) {
      const fresh = images.newInScanByHash(old.hash, scanGen, firstNewId)
      if (fresh) {
        images.moveOnto(old.id, fresh)
        result.moved++
        if (fresh.duplicate_of !== null) result.duplicates--
        else result.added--
      } else result.missing++
    }
  }

  // Thumbnails (full decode): failures are recorded on the image, never dropped.
  for (const t of needThumb) {
    if (signal?.aborted) break
    try {
      await thumbs.ensure(t.hash, t.abs)
    } catch (err) {
      const row = images.get(t.id)
      if (row) {
        images.updateContent(t.id, { rootId: row.root_id, relPath: row.rel_path, hash: row.hash, bytes: row.bytes, mtimeMs: row.mtime_ms, width: row.width, height: row.height, orientation: row.orientation, format: row.format, error: `cannot decode image: ${(err as Error).message}`, scanGen: row.scan_gen })
        result.errors++
      }
    }
  }
  progress(signal?.aborted ? 'failed' : 'done', undefined, signal?.aborted ? 'cancelled' : undefined)
  emit({ type: 'library.changed' })
  return result
}
