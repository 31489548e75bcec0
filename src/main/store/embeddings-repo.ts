// Main process / serve / CLI (plain Node). Image embeddings per pack space, perceptual hashes and export
// exclusions (migration 004). [Note: embedding spaces] every read and write names the pack id and version.
import { prepared, type DB } from './db'
import { VISIBLE } from './images-repo'
import { quantize } from '../search/quantize'

export interface Space {
  packId: string
  version: string
}

export interface SpaceRows {
  dim: number
  ids: number[]
  scales: Float32Array
  /** ids.length × dim int8 components, row after row. */
  rows: Int8Array
}

export interface Exclusion {
  imageId: number
  reason: 'duplicate' | 'manual'
  keptId: number | null
}

export class EmbeddingsRepo {
  constructor(private readonly db: DB) {}

  put(space: Space, imageId: number, vector: ArrayLike<number>): void {
    const q = quantize(vector)
    prepared(
      this.db,
      `INSERT INTO image_embeddings (image_id, pack_id, pack_version, dim, scale, vec) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (pack_id, pack_version, image_id) DO UPDATE SET dim = excluded.dim, scale = excluded.scale, vec = excluded.vec`
    ).run(imageId, space.packId, space.version, vector.length, q.scale, q.bytes)
  }

  count(space: Space): number {
    return (prepared(this.db, `SELECT count(*) AS n FROM image_embeddings WHERE pack_id = ? AND pack_version = ?`).get(space.packId, space.version) as { n: number }).n
  }

  /** Every pack space that has rows, with its count. */
  spaces(): (Space & { count: number })[] {
    return prepared(this.db, `SELECT pack_id AS packId, pack_version AS version, count(*) AS count FROM image_embeddings GROUP BY pack_id, pack_version ORDER BY pack_id, pack_version`).all() as (Space & { count: number })[]
  }

  /** Rows of a space, optionally only those with image id > afterId (incremental loads), in image id order. */
  load(space: Space, afterId = 0, limit = -1): SpaceRows {
    const raw = prepared(this.db, `SELECT image_id, dim, scale, vec FROM image_embeddings WHERE pack_id = ? AND pack_version = ? AND image_id > ? ORDER BY image_id LIMIT ?`)
      .raw()
      .all(space.packId, space.version, afterId, limit) as [number, number, number, Buffer][]
    const dim = raw[0]?.[1] ?? 0
    const usable = raw.filter((r) => r[1] === dim)
    const rows = new Int8Array(usable.length * dim)
    const scales = new Float32Array(usable.length)
    usable.forEach(([, , scale, vec], i) => {
      rows.set(new Int8Array(vec.buffer, vec.byteOffset, dim), i * dim)
      scales[i] = scale
    })
    return { dim, ids: usable.map((r) => r[0]), scales, rows }
  }

  /** Visible, readable images without an embedding in this space (what an index job must still do). */
  missing(space: Space): number[] {
    const rows = prepared(
      this.db,
      `SELECT i.id FROM images i WHERE ${VISIBLE} AND i.error IS NULL AND i.missing = 0
         AND NOT EXISTS (SELECT 1 FROM image_embeddings e WHERE e.image_id = i.id AND e.pack_id = ? AND e.pack_version = ?)
       ORDER BY i.root_id, i.rel_path`
    )
      .raw()
      .all(space.packId, space.version) as [number][]
    return rows.map((r) => r[0])
  }

  phash(contentHash: string): string | null {
    return (prepared(this.db, `SELECT phash FROM perceptual_hashes WHERE content_hash = ?`).get(contentHash) as { phash: string } | undefined)?.phash ?? null
  }

  putPhash(contentHash: string, phashHex: string): void {
    prepared(this.db, `INSERT OR REPLACE INTO perceptual_hashes (content_hash, phash) VALUES (?, ?)`).run(contentHash, phashHex)
  }

  exclude(imageIds: readonly number[], reason: Exclusion['reason'], keptId: number | null): number {
    const stmt = prepared(this.db, `INSERT INTO export_exclusions (image_id, reason, kept_id) VALUES (?, ?, ?) ON CONFLICT (image_id) DO UPDATE SET reason = excluded.reason, kept_id = excluded.kept_id`)
    return this.db.transaction(() => imageIds.reduce((n, id) => n + stmt.run(id, reason, keptId).changes, 0))()
  }

  include(imageIds: readonly number[]): number {
    const stmt = prepared(this.db, `DELETE FROM export_exclusions WHERE image_id = ?`)
    return this.db.transaction(() => imageIds.reduce((n, id) => n + stmt.run(id).changes, 0))()
  }

  exclusions(): Exclusion[] {
    return prepared(this.db, `SELECT image_id AS imageId, reason, kept_id AS keptId FROM export_exclusions ORDER BY image_id`).all() as Exclusion[]
  }
}
