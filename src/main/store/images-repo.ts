// Main process (plain Node). Image and root rows. All writes go through the one connection (see db.ts).
import { prepared, type DB } from './db'
import { SQL_NOW, textSearch } from './sql'
import type { ImageFilter } from '@shared/contract/library'

/** Rows per transaction when a scan marks unseen rows missing ([Note: paged sweep]). */
const SWEEP_PAGE = 4_096

// [Note: paged reads] The grid's refresh (library.listIds, library.counts) runs every few hundred ms while an
// import writes; over 50,000 rows each was one SQLite statement of 180–320 ms on the loaded 2-core reference
// machine (measured once), the main loop held for all of it. The handlers read in pages of READ_PAGE rows
// with a yield between them: the writes and other calls go on between pages. A page-wise read is not one
// snapshot: a row written meanwhile may be missed or counted by the page it lands in, and the write's
// library.changed makes the grid read again.
const READ_PAGE = 2048

export interface RootRow {
  id: number
  path: string
  added_at: string
  removed_at: string | null
}

export interface ImageRow {
  id: number
  root_id: number
  rel_path: string
  hash: string
  bytes: number
  mtime_ms: number
  width: number | null
  height: number | null
  orientation: number | null
  format: string | null
  error: string | null
  missing: number
  duplicate_of: number | null
  scan_gen: number
}

export interface ImageWithCaption extends ImageRow {
  caption: string | null
  caption_status: 'accepted' | 'candidate' | null
}

export interface NewImage {
  rootId: number
  relPath: string
  hash: string
  bytes: number
  mtimeMs: number
  width: number | null
  height: number | null
  orientation: number | null
  format: string | null
  error: string | null
  scanGen: number
}

/** Visible images: live roots, not duplicates. [Note: duplicates] A file whose content hash equals an
 *  image already in the library is recorded with `duplicate_of` and hidden from the grid and exports. */
export const VISIBLE = `i.duplicate_of IS NULL AND i.root_id IN (SELECT id FROM roots WHERE removed_at IS NULL)`
const HAS_ACCEPTED = `EXISTS (SELECT 1 FROM captions c WHERE c.image_id = i.id AND c.status = 'accepted')`
const HAS_CANDIDATE = `EXISTS (SELECT 1 FROM captions c WHERE c.image_id = i.id AND c.status = 'candidate')`

export const FILTER_SQL: Record<ImageFilter, string> = {
  all: '1',
  uncaptioned: `NOT ${HAS_ACCEPTED} AND i.error IS NULL AND i.missing = 0`,
  accepted: HAS_ACCEPTED,
  candidates: `NOT ${HAS_ACCEPTED} AND ${HAS_CANDIDATE}`,
  errors: `(i.error IS NOT NULL OR i.missing = 1)`,
  // one pass over job_items (grouped), not a lookup per image: job_items has no index on image_id
  failed: `NOT ${HAS_ACCEPTED} AND i.id IN (SELECT ji.image_id FROM (SELECT image_id, max(job_id) AS j FROM job_items GROUP BY image_id) last
    JOIN job_items ji ON ji.job_id = last.j AND ji.image_id = last.image_id WHERE ji.state = 'failed')`
}

/** Words of a whitespace-normalised caption `t` (single spaces, trimmed: see shared/caption-text.ts). */
export const WORDS_SQL = (t: string) => `(length(${t}) - length(replace(${t}, ' ', '')) + 1)`

/** The condition of the grid's listing under a filter and a text search. */
function listWhere(filter: ImageFilter, search: string): { where: string; params: unknown[] } {
  const text = textSearch(search)
  const where = `${VISIBLE} AND ${FILTER_SQL[filter]}`
  return text ? { where: `${where} AND ${text.sql}`, params: [...text.params] } : { where, params: [] }
}

export class ImagesRepo {
  constructor(private readonly db: DB) {}

  liveRoots(): RootRow[] {
    return prepared(this.db, `SELECT * FROM roots WHERE removed_at IS NULL ORDER BY id`).all() as RootRow[]
  }

  rootByPath(path: string): RootRow | undefined {
    return prepared(this.db, `SELECT * FROM roots WHERE path = ?`).get(path) as RootRow | undefined
  }

  root(id: number): RootRow | undefined {
    return prepared(this.db, `SELECT * FROM roots WHERE id = ?`).get(id) as RootRow | undefined
  }

  /** Add a root, or bring back one that was removed (its images and captions were kept). */
  addRoot(path: string): RootRow {
    const existing = this.rootByPath(path)
    if (existing) {
      prepared(this.db, `UPDATE roots SET removed_at = NULL WHERE id = ?`).run(existing.id)
      return { ...existing, removed_at: null }
    }
    const info = prepared(this.db, `INSERT INTO roots (path) VALUES (?)`).run(path)
    return this.root(Number(info.lastInsertRowid))!
  }

  removeRoot(id: number): void {
    prepared(this.db, `UPDATE roots SET removed_at = ${SQL_NOW} WHERE id = ?`).run(id)
  }

  imageCount(rootId: number): number {
    const row = prepared(this.db, `SELECT count(*) AS n FROM images i WHERE root_id = ? AND duplicate_of IS NULL`).get(rootId) as { n: number }
    return row.n
  }

  byPath(rootId: number, relPath: string): ImageRow | undefined {
    return prepared(this.db, `SELECT * FROM images WHERE root_id = ? AND rel_path = ?`).get(rootId, relPath) as ImageRow | undefined
  }

  get(id: number): ImageRow | undefined {
    return prepared(this.db, `SELECT * FROM images WHERE id = ?`).get(id) as ImageRow | undefined
  }

  /** The canonical (non-duplicate) image with this content hash, other than `exceptId`. */
  canonicalByHash(hash: string, exceptId = 0): ImageRow | undefined {
    return prepared(this.db, `SELECT * FROM images WHERE hash = ? AND duplicate_of IS NULL AND id != ? ORDER BY missing, id LIMIT 1`)
      .get(hash, exceptId) as ImageRow | undefined
  }

  duplicatesOf(id: number): ImageRow[] {
    return prepared(this.db, `SELECT * FROM images WHERE duplicate_of = ? ORDER BY id`).all(id) as ImageRow[]
  }

  insert(img: NewImage, duplicateOf: number | null): number {
    const info = prepared(this.db,
        `INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms, width, height, orientation, format, error, scan_gen, duplicate_of)
         VALUES (@rootId, @relPath, @hash, @bytes, @mtimeMs, @width, @height, @orientation, @format, @error, @scanGen, @duplicateOf)`
      )
      .run({ ...img, duplicateOf })
    return Number(info.lastInsertRowid)
  }

  /** A file changed in place: new content facts, same row (captions stay attached, history kept). */
  updateContent(id: number, img: NewImage): void {
    prepared(this.db,
        `UPDATE images SET hash=@hash, bytes=@bytes, mtime_ms=@mtimeMs, width=@width, height=@height, orientation=@orientation,
         format=@format, error=@error, scan_gen=@scanGen, missing=0, updated_at=${SQL_NOW} WHERE id=@id`
      )
      .run({ ...img, id })
  }

  /** Runs `fn` in one transaction (the scanner writes its rows in batches). */
  transaction(fn: () => void): void {
    this.db.transaction(fn)()
  }

  /** A file whose pixels cannot be decoded: its row gets the error. False when the row is gone. */
  setError(id: number, error: string): boolean {
    return prepared(this.db, `UPDATE images SET error = ?, updated_at = ${SQL_NOW} WHERE id = ?`).run(error, id).changes > 0
  }

  markSeen(id: number, scanGen: number): void {
    prepared(this.db, `UPDATE images SET scan_gen = ?, missing = 0 WHERE id = ?`).run(scanGen, id)
  }

  /** Rows of a root not seen in scan `scanGen` become missing; returns them.
   *  [Note: paged sweep] In id ranges of SWEEP_PAGE rows, each in its own transaction, with a turn of the
   *  event loop between them: as one SELECT and one UPDATE over a 50,000-row root it was 9 ms each on a quiet
   *  machine (several times that while thumbnails kept the cores busy), on the host's main thread at the end
   *  of every scan and rescan. Only the scan itself marks this root's rows seen, so the ranges need no
   *  snapshot across pages. */
  async markUnseenMissing(rootId: number, scanGen: number): Promise<ImageRow[]> {
    const top = this.maxId()
    const out: ImageRow[] = []
    const page = this.db.transaction((from: number, to: number) => {
      out.push(...(prepared(this.db, `SELECT * FROM images WHERE id > ? AND id <= ? AND root_id = ? AND scan_gen < ? AND missing = 0`).all(from, to, rootId, scanGen) as ImageRow[]))
      prepared(this.db, `UPDATE images SET missing = 1 WHERE id > ? AND id <= ? AND root_id = ? AND scan_gen < ? AND missing = 0`).run(from, to, rootId, scanGen)
    })
    for (let from = 0; from < top; from += SWEEP_PAGE) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve))
      page(from, from + SWEEP_PAGE)
    }
    return out
  }

  /** A missing image whose content re-appeared at a new path: move the old row (keeping its id and
   *  captions) onto the new path and drop the freshly inserted row. */
  moveOnto(oldId: number, newRow: ImageRow): void {
    const tx = this.db.transaction(() => {
      prepared(this.db, `UPDATE images SET duplicate_of = ? WHERE duplicate_of = ?`).run(oldId, newRow.id)
      prepared(this.db, `DELETE FROM images WHERE id = ?`).run(newRow.id)
      prepared(this.db, `UPDATE images SET root_id=?, rel_path=?, mtime_ms=?, scan_gen=?, missing=0, duplicate_of=NULL, updated_at=${SQL_NOW} WHERE id=?`)
        .run(newRow.root_id, newRow.rel_path, newRow.mtime_ms, newRow.scan_gen, oldId)
    })
    tx()
  }

  /** Images inserted during scan `scanGen` with this hash (move candidates). */
  newInScanByHash(hash: string, scanGen: number, since: number): ImageRow | undefined {
    return prepared(this.db, `SELECT * FROM images WHERE hash = ? AND scan_gen = ? AND id > ? AND missing = 0 ORDER BY id LIMIT 1`)
      .get(hash, scanGen, since) as ImageRow | undefined
  }

  maxId(): number {
    return (prepared(this.db, `SELECT coalesce(max(id), 0) AS m FROM images`).get() as { m: number }).m
  }

  listIds(filter: ImageFilter, search: string): number[] {
    const { where, params } = listWhere(filter, search)
    const rows = prepared(this.db, `SELECT i.id FROM images i WHERE ${where} ORDER BY i.root_id, i.rel_path`).raw().all(...params) as [number][]
    return rows.map((r) => r[0])
  }

  /** listIds read in pages of `page` rows (keyset on root and path) with a yield between them ([Note: paged
   *  reads]); what the grid's refresh asks while an import writes. */
  async listIdsPaged(filter: ImageFilter, search: string, page = READ_PAGE): Promise<number[]> {
    const { where, params } = listWhere(filter, search)
    const stmt = prepared(this.db, `SELECT i.id, i.root_id, i.rel_path FROM images i WHERE ${where} AND (i.root_id, i.rel_path) > (?, ?) ORDER BY i.root_id, i.rel_path LIMIT ?`).raw()
    const out: number[] = []
    let after: [number, string] = [-1, '']
    for (;;) {
      const rows = stmt.all(...params, after[0], after[1], page) as [number, number, string][]
      for (const r of rows) out.push(r[0])
      if (rows.length < page) return out
      const last = rows[rows.length - 1]!
      after = [last[1], last[2]]
      await new Promise((r) => setImmediate(r))
    }
  }

  withCaptions(ids: readonly number[]): ImageWithCaption[] {
    if (ids.length === 0) return []
    const placeholders = ids.map(() => '?').join(',')
    const rows = prepared(this.db,
        `SELECT i.*,
           coalesce((SELECT text FROM captions c WHERE c.image_id = i.id AND c.status = 'accepted'),
                    (SELECT text FROM captions c WHERE c.image_id = i.id AND c.status = 'candidate' ORDER BY c.id LIMIT 1)) AS caption,
           CASE WHEN ${HAS_ACCEPTED} THEN 'accepted' WHEN ${HAS_CANDIDATE} THEN 'candidate' ELSE NULL END AS caption_status
         FROM images i WHERE i.id IN (${placeholders})`
      )
      .all(...ids) as ImageWithCaption[]
    const byId = new Map(rows.map((r) => [r.id, r]))
    return ids.map((id) => byId.get(id)).filter((r): r is ImageWithCaption => r !== undefined)
  }

  nextUncaptioned(afterId: number | undefined): number | null {
    const ids = this.listIds('uncaptioned', '')
    if (ids.length === 0) return null
    if (afterId === undefined) return ids[0] ?? null
    const order = this.listIds('all', '')
    const pos = order.indexOf(afterId)
    const uncaptioned = new Set(ids)
    for (let k = 1; k <= order.length; k++) {
      const id = order[(pos + k) % order.length]!
      if (uncaptioned.has(id)) return id
    }
    return null
  }

  /** Visible images with an accepted caption (the one count the auto-refit check needs). */
  acceptedCount(): number {
    return (prepared(this.db, `SELECT count(*) AS n FROM images i WHERE ${VISIBLE} AND ${FILTER_SQL.accepted}`).get() as { n: number }).n
  }

  counts() {
    return this.countsIn(0, Number.MAX_SAFE_INTEGER)
  }

  /** counts() summed over id ranges of `page` ids with a yield between them ([Note: paged reads]). */
  async countsPaged(page = READ_PAGE): Promise<ReturnType<ImagesRepo['counts']>> {
    const top = this.maxId()
    const sum = this.countsIn(0, Math.min(top, page))
    for (let from = page; from < top; from += page) {
      await new Promise((r) => setImmediate(r))
      const c = this.countsIn(from, from + page)
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c[k]
    }
    // rows written while the pages were read may land past the last range
    const last = this.maxId()
    if (last > top) {
      const c = this.countsIn(top, last)
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c[k]
    }
    return sum
  }

  /** The counts over images with from < id <= to. */
  private countsIn(from: number, to: number) {
    const row = prepared(
      this.db,
      `SELECT
           count(*) FILTER (WHERE ${VISIBLE}) AS total,
           count(*) FILTER (WHERE ${VISIBLE} AND ${FILTER_SQL.accepted}) AS accepted,
           count(*) FILTER (WHERE ${VISIBLE} AND ${FILTER_SQL.uncaptioned}) AS uncaptioned,
           count(*) FILTER (WHERE ${VISIBLE} AND ${FILTER_SQL.candidates}) AS candidates,
           count(*) FILTER (WHERE ${VISIBLE} AND i.error IS NOT NULL) AS errors,
           count(*) FILTER (WHERE ${VISIBLE} AND i.missing = 1) AS missing,
           count(*) FILTER (WHERE i.duplicate_of IS NOT NULL) AS duplicates
         FROM images i WHERE i.id > ? AND i.id <= ?`
    ).get(from, to) as Record<string, number>
    return {
      total: row.total ?? 0,
      accepted: row.accepted ?? 0,
      uncaptioned: row.uncaptioned ?? 0,
      candidates: row.candidates ?? 0,
      errors: row.errors ?? 0,
      missing: row.missing ?? 0,
      duplicates: row.duplicates ?? 0
    }
  }
}
