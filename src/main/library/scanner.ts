// Main process (plain Node). Scans a library root: a streaming walk, then per file a stat, a content hash
// (only when size or mtime changed) and a header probe, several files at once; rows are written in batches
// while the walk goes on, and thumbnails (a full decode, which finds files that fail to decode) are made by
// the background queue (library/thumb-queue.ts, visible first). Rescans find new, changed, moved and missing
// files.
// [Note: scan pipeline] Rows appear in the grid as soon as their files are walked, hashed and probed: up to
// `parallel` files are examined at once (lstat, one read for hash and probe, [Note: one read]) while their
// results are written in walk order, so rows, duplicates and moves come out exactly as a one-by-one scan
// makes them (test/integration/library-scan-pipeline.test.ts). Writes go in transactions of up to
// `writeBatch` rows or FLUSH_MS, which keeps each stall of the main event loop short. An unchanged file (same
// size and mtime, no error) is never read again; its thumbnail is only queued when the cache lacks it (one
// listing of the cache, not a stat per image). PREVIOUS_PATH replays the scanner as it was before (one file
// at a time, a commit per row, thumbnails one by one after the walk, with the thumbnail routine it had when
// issue 14 was filed: FILED_THUMB_WEBP) for the import bench.
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
import { probeImage, readHashed, type HashedFile, type ImageFacts } from './probe'
import type { ThumbItem, ThumbQueue } from './thumb-queue'
import { FILED_THUMB_WEBP, type Thumbnails, type ThumbWebp } from './thumbnails'
import { walkImages, type WalkEntry } from './walk'

export interface ScanDeps {
  images: ImagesRepo
  thumbs: Thumbnails
  /** Background thumbnails ([Note: scan pipeline]); needed unless `thumbnails: 'inline'`. */
  thumbQueue?: ThumbQueue
  emit(event: StudioEvent): void
}

export interface ScanOptions {
  /** Files examined at once (stat, read, hash, probe). */
  parallel?: number
  /** Rows per write transaction (1: a commit per row). */
  writeBatch?: number
  /** 'background': the thumbnail queue, during the walk; 'inline': one by one after the walk. */
  thumbnails?: 'background' | 'inline'
  /** libwebp settings of inline thumbnails (the previous path keeps the routine it had). */
  thumbWebp?: ThumbWebp
  /** Reads and hashes one file (tests count the calls). */
  hash?: (path: string) => Promise<HashedFile>
}

/** The scanner as it was before the pipeline, for the import bench's "previous path". */
export const PREVIOUS_PATH: ScanOptions = { parallel: 1, writeBatch: 1, thumbnails: 'inline', thumbWebp: FILED_THUMB_WEBP, hash: (p) => readHashed(p, 0) }

const EMIT_EVERY_MS = 250
const FLUSH_MS = 100
export const MAX_PROBLEMS = 100

const NO_FACTS = { width: null, height: null, orientation: null, format: null }

type Outcome =
  | { k: 'skip'; path: string; message: string }
  | { k: 'fail'; entry: WalkEntry; bytes: number; mtimeMs: number; error: string }
  | { k: 'same'; id: number; hash: string; duplicate: boolean; abs: string }
  | { k: 'row'; entry: WalkEntry; hash: string; bytes: number; mtimeMs: number; facts: ImageFacts }

/** The hash of a file that could not be hashed: unique to its path, so never anyone's duplicate. */
function placeholderHash(rootId: number, relPath: string): string {
  return `unread-${createHash('sha256').update(`${rootId}\0${relPath}`).digest('hex').slice(0, 50)}`
}

export async function scanRoot(deps: ScanDeps, rootId: number, rootPath: string, signal?: AbortSignal, opts: ScanOptions = {}): Promise<ScanResult> {
  const { images, thumbs, emit } = deps
  const parallel = Math.max(1, opts.parallel ?? 8)
  const writeBatch = Math.max(1, opts.writeBatch ?? 200)
  const hash = opts.hash ?? ((p: string) => readHashed(p))
  const inline = opts.thumbnails === 'inline' || !deps.thumbQueue
  const scanGen = Date.now()
  const firstNewId = images.maxId()
  const result: ScanResult = { rootId, seen: 0, added: 0, changed: 0, moved: 0, missing: 0, duplicates: 0, errors: 0, skipped: 0, problems: [] }
  const needThumb: ThumbItem[] = []
  const group = inline ? null : deps.thumbQueue!.group()
  const cached = inline ? null : await thumbs.existing()
  let lastEmit = 0
  let lastPath: string | undefined
  const progress = (phase: 'walking' | 'thumbnails' | 'done' | 'failed', currentPath?: string, message?: string) => {
    emit({ type: 'library.scan', rootId, phase, seen: result.seen, added: result.added, errors: result.errors, ...(currentPath ? { currentPath } : {}), ...(message ? { message } : {}), ...(group ? { pending: group.pending } : {}) })
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
  const wantThumb = (t: ThumbItem) => {
    if (inline) needThumb.push(t)
    else if (!cached!.has(t.hash)) group!.add(t)
  }

  /** Everything about one file that needs no write: stat, and read + hash + probe when it changed. */
  const examine = async (entry: WalkEntry): Promise<Outcome> => {
    let st
    try {
      st = await lstat(entry.absPath)
    } catch (err) {
      if (entry.problem) return { k: 'fail', entry, bytes: 0, mtimeMs: 0, error: entry.problem }
      return { k: 'skip', path: entry.absPath, message: `vanished while scanning: ${(err as Error).message}` }
    }
    if (entry.problem || !st.isFile()) return { k: 'fail', entry, bytes: st.size, mtimeMs: st.mtimeMs, error: entry.problem ?? 'not a regular file any more (replaced since the folder was read)' }
    const known = images.byPath(rootId, entry.relPath)
    if (known && known.bytes === st.size && known.mtime_ms === st.mtimeMs && !known.error) {
      return { k: 'same', id: known.id, hash: known.hash, duplicate: known.duplicate_of !== null, abs: entry.absPath }
    }
    let h: HashedFile
    try {
      h = await hash(entry.absPath)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { k: 'skip', path: entry.absPath, message: 'vanished while scanning' }
      return { k: 'fail', entry, bytes: st.size, mtimeMs: st.mtimeMs, error: `cannot read file: ${(err as Error).message}` }
    }
    const facts = await probeImage(h.data ?? entry.absPath)
    return { k: 'row', entry, hash: h.hash, bytes: st.size, mtimeMs: st.mtimeMs, facts }
  }

  /** Writes examined files in walk order (the order a one-by-one scan would write them). */
  const apply = (o: Outcome) => {
    if (o.k === 'skip') skip(o.path, o.message)
    else if (o.k === 'fail') {
      const known = images.byPath(rootId, o.entry.relPath)
      record(o.entry, known?.hash ?? placeholderHash(rootId, o.entry.relPath), o.bytes, o.mtimeMs, { ...NO_FACTS, error: o.error })
    } else if (o.k === 'same') {
      images.markSeen(o.id, scanGen)
      if (!o.duplicate) wantThumb({ id: o.id, hash: o.hash, abs: o.abs })
    } else {
      const r = record(o.entry, o.hash, o.bytes, o.mtimeMs, o.facts)
      if (!o.facts.error && !r.duplicate) wantThumb({ id: r.id, hash: o.hash, abs: o.entry.absPath })
    }
  }

  let writes: Outcome[] = []
  let lastFlush = performance.now()
  const flush = () => {
    if (writes.length === 0) return
    const batch = writes
    writes = []
    images.transaction(() => batch.forEach(apply))
    lastFlush = performance.now()
    const now = Date.now()
    if (now - lastEmit > EMIT_EVERY_MS) {
      lastEmit = now
      progress('walking', lastPath)
      emit({ type: 'library.changed' })
    }
  }

  const window: Promise<Outcome>[] = []
  for await (const entry of walkImages(rootPath, (dir, err) => skip(dir, `cannot read folder: ${err.message}`))) {
    if (signal?.aborted) break
    result.seen++
    lastPath = entry.relPath
    window.push(examine(entry).catch((err: unknown) => ({ k: 'fail', entry, bytes: 0, mtimeMs: 0, error: `cannot read file: ${(err as Error).message}` }) as const))
    if (window.length >= parallel) writes.push(await window.shift()!)
    if (writes.length >= writeBatch || performance.now() - lastFlush > FLUSH_MS) flush()
  }
  while (window.length > 0) writes.push(await window.shift()!)
  flush()

  if (!signal?.aborted) {
    // Missing files, and moves: a missing row whose content appeared at a new path in this scan.
    const gone = await images.markUnseenMissing(rootId, scanGen)
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
  emit({ type: 'library.changed' })

  // Thumbnails (full decode): failures are recorded on the image (images.setError), never dropped.
  if (group) {
    progress('thumbnails')
    const onAbort = () => group.cancel()
    signal?.addEventListener('abort', onAbort)
    await group.settled()
    signal?.removeEventListener('abort', onAbort)
    result.errors += group.failed
  } else {
    progress('thumbnails')
    for (const t of needThumb) {
      if (signal?.aborted) break
      try {
        await thumbs.ensure(t.hash, t.abs, opts.thumbWebp)
      } catch (err) {
        if (images.setError(t.id, `cannot decode image: ${(err as Error).message}`)) result.errors++
      }
    }
  }
  progress(signal?.aborted ? 'failed' : 'done', undefined, signal?.aborted ? 'cancelled' : undefined)
  emit({ type: 'library.changed' })
  return result
}
