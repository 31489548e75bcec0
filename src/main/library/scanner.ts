// Main process (plain Node). Scans a library root: a streaming walk, then per file a stat, a content hash
// (only when size or mtime changed), and a header probe; then a background pass makes thumbnails and so
// finds files that fail to fully decode. Rescans find new, changed, moved and missing files.
// [Note: moves] A file that vanished from one path and whose content hash re-appears at a new path in the
// same scan keeps its row (id, captions); the new row is folded into it.
import { stat } from 'node:fs/promises'
import type { ScanResult } from '@shared/contract/library'
import type { StudioEvent } from '@shared/contract/events'
import type { ImagesRepo, NewImage } from '../store/images-repo'
import { hashFile, probeImage } from './probe'
import type { Thumbnails } from './thumbnails'
import { walkImages } from './walk'

export interface ScanDeps {
  images: ImagesRepo
  thumbs: Thumbnails
  emit(event: StudioEvent): void
}

const EMIT_EVERY_MS = 250

export async function scanRoot(deps: ScanDeps, rootId: number, rootPath: string, signal?: AbortSignal): Promise<ScanResult> {
  const { images, thumbs, emit } = deps
  const scanGen = Date.now()
  const firstNewId = images.maxId()
  const result: ScanResult = { rootId, seen: 0, added: 0, changed: 0, moved: 0, missing: 0, duplicates: 0, errors: 0, skipped: 0 }
  const needThumb: { id: number; hash: string; abs: string }[] = []
  let lastEmit = 0
  const progress = (phase: 'walking' | 'done' | 'failed', currentPath?: string, message?: string) => {
    emit({ type: 'library.scan', rootId, phase, seen: result.seen, added: result.added, errors: result.errors, ...(currentPath ? { currentPath } : {}), ...(message ? { message } : {}) })
  }

  for await (const entry of walkImages(rootPath, () => result.skipped++)) {
    if (signal?.aborted) break
    result.seen++
    let st
    try {
      st = await stat(entry.absPath)
    } catch {
      result.skipped++
      continue
    }
    const known = images.byPath(rootId, entry.relPath)
    if (known && known.bytes === st.size && known.mtime_ms === st.mtimeMs) {
      images.markSeen(known.id, scanGen)
      if (!known.error && !known.duplicate_of) needThumb.push({ id: known.id, hash: known.hash, abs: entry.absPath })
    } else {
      let hash: string
      try {
        hash = await hashFile(entry.absPath)
      } catch {
        result.skipped++
        continue
      }
      const facts = await probeImage(entry.absPath)
      const row: NewImage = { rootId, relPath: entry.relPath, hash, bytes: st.size, mtimeMs: st.mtimeMs, scanGen, ...facts }
      if (facts.error) result.errors++
      if (known) {
        images.updateContent(known.id, row)
        result.changed++
        if (!facts.error) needThumb.push({ id: known.id, hash, abs: entry.absPath })
      } else {
        const canonical = images.canonicalByHash(hash)
        const id = images.insert(row, canonical && !canonical.missing ? canonical.id : null)
        if (canonical && !canonical.missing) result.duplicates++
        else {
          result.added++
          if (!facts.error) needThumb.push({ id, hash, abs: entry.absPath })
        }
      }
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
