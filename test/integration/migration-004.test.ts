// Migration 4: image embeddings per pack space, perceptual hashes and export exclusions, applied on top of a
// version-3 library that already holds images, as an upgrading user's library would.
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../src/main/store/db'
import { MIGRATIONS } from '../../src/main/store/migrations'

function v3WithImages(): Database.Database {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  migrate(db, MIGRATIONS, 3)
  db.prepare(`INSERT INTO roots (path) VALUES ('/photos')`).run()
  const img = db.prepare(`INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms) VALUES (1, ?, ?, 10, 0)`)
  img.run('a.jpg', 'h1')
  img.run('b.jpg', 'h2')
  return db
}

const put = (db: Database.Database, imageId: number, packId: string, version: string, vec: Buffer, dim = vec.length) =>
  db.prepare(`INSERT INTO image_embeddings (image_id, pack_id, pack_version, dim, scale, vec) VALUES (?, ?, ?, ?, 0.01, ?)`).run(imageId, packId, version, dim, vec)

describe('migration 004 (embeddings, perceptual hashes, export exclusions)', () => {
  it('upgrades a version-3 library in place, keeping its images', () => {
    const db = v3WithImages()
    migrate(db, MIGRATIONS, 4)
    expect(schemaVersion(db)).toBe(4)
    expect(db.prepare(`SELECT rel_path FROM images ORDER BY id`).all()).toEqual([{ rel_path: 'a.jpg' }, { rel_path: 'b.jpg' }])
    const cols = (t: string) => (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name)
    expect(cols('image_embeddings')).toEqual(['image_id', 'pack_id', 'pack_version', 'dim', 'scale', 'vec', 'created_at'])
    expect(cols('perceptual_hashes')).toEqual(['content_hash', 'phash'])
    expect(cols('export_exclusions')).toEqual(['image_id', 'reason', 'kept_id', 'created_at'])
  })

  it('one row per image and pack space; versions are separate spaces; rows go with their image', () => {
    const db = v3WithImages()
    migrate(db, MIGRATIONS, 4)
    put(db, 1, 'clip', '1.0.0', Buffer.alloc(4))
    put(db, 1, 'clip', '1.1.0', Buffer.alloc(4))
    expect(() => put(db, 1, 'clip', '1.0.0', Buffer.alloc(4))).toThrow(/UNIQUE|PRIMARY/)
    expect(() => put(db, 2, 'clip', '1.0.0', Buffer.alloc(4), 5)).toThrow(/CHECK/)
    expect(() => put(db, 2, '', '1.0.0', Buffer.alloc(4))).toThrow(/CHECK/)
    expect(() => put(db, 99, 'clip', '1.0.0', Buffer.alloc(4))).toThrow(/FOREIGN KEY/)
    db.prepare(`DELETE FROM images WHERE id = 1`).run()
    expect(db.prepare(`SELECT count(*) n FROM image_embeddings`).get()).toEqual({ n: 0 })
  })

  it('hash sets are whole 64-bit hashes; an exclusion is one per image and forgets a removed kept image', () => {
    const db = v3WithImages()
    migrate(db, MIGRATIONS, 4)
    db.prepare(`INSERT INTO perceptual_hashes VALUES ('h1', ?)`).run('0'.repeat(32))
    expect(() => db.prepare(`INSERT INTO perceptual_hashes VALUES ('h2', ?)`).run('0'.repeat(20))).toThrow(/CHECK/)
    db.prepare(`INSERT INTO export_exclusions (image_id, reason, kept_id) VALUES (2, 'duplicate', 1)`).run()
    expect(() => db.prepare(`INSERT INTO export_exclusions (image_id, reason) VALUES (2, 'manual')`).run()).toThrow(/UNIQUE|PRIMARY/)
    expect(() => db.prepare(`INSERT INTO export_exclusions (image_id, reason) VALUES (1, 'because')`).run()).toThrow(/CHECK/)
    db.prepare(`DELETE FROM images WHERE id = 1`).run()
    expect(db.prepare(`SELECT image_id, kept_id FROM export_exclusions`).all()).toEqual([{ image_id: 2, kept_id: null }])
  })
})
