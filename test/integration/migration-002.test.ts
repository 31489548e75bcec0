// Migration 2: the image_tags table (keywords and concepts). Applied on top of a version-1 database that
// already holds images, as an upgrading user's library would.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, openDatabase, schemaVersion } from '../../src/main/store/db'
import { MIGRATIONS } from '../../src/main/store/migrations'
import { tempDir } from '../fixtures/images'

function v1WithImages(): Database.Database {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  migrate(db, MIGRATIONS, 1)
  db.prepare(`INSERT INTO roots (path) VALUES ('/r')`).run()
  const img = db.prepare(`INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms) VALUES (1, ?, ?, 1, 1)`)
  img.run('a.jpg', 'ha')
  img.run('b.jpg', 'hb')
  db.prepare(`INSERT INTO captions (image_id, text, status, source_kind) VALUES (1, 'a cat', 'accepted', 'human')`).run()
  return db
}

const insert = (db: Database.Database, imageId: number, tag: string, kind: string, source = 'human', score: number | null = null) =>
  db.prepare(`INSERT INTO image_tags (image_id, tag, kind, source, score) VALUES (?, ?, ?, ?, ?)`).run(imageId, tag, kind, source, score)

describe('migration 002 (image tags)', () => {
  it('upgrades a version-1 library in place and keeps its rows', () => {
    const db = v1WithImages()
    expect(schemaVersion(db)).toBe(1)
    migrate(db, MIGRATIONS, 2)
    expect(schemaVersion(db)).toBe(2)
    const cols = (db.prepare(`PRAGMA table_info(image_tags)`).all() as { name: string; notnull: number }[]).map((c) => [c.name, c.notnull])
    expect(cols).toEqual([
      ['id', 0],
      ['image_id', 1],
      ['tag', 1],
      ['kind', 1],
      ['source', 1],
      ['score', 0],
      ['created_at', 1]
    ])
    expect(db.prepare(`SELECT count(*) n FROM images`).get()).toEqual({ n: 2 })
    expect(db.prepare(`SELECT text FROM captions`).get()).toEqual({ text: 'a cat' })
  })

  it('is applied once by openDatabase (reopening does not re-run it)', () => {
    const file = join(tempDir('mig2'), 'db.sqlite')
    openDatabase(file).close()
    const again = openDatabase(file)
    expect(schemaVersion(again)).toBe(MIGRATIONS.at(-1)!.version)
    expect(again.prepare(`SELECT count(*) n FROM sqlite_master WHERE name = 'image_tags_tag'`).get()).toEqual({ n: 1 })
    again.close()
  })

  it('one row per image, tag (case-insensitive) and kind; checks kind, source, text and image', () => {
    const db = v1WithImages()
    migrate(db)
    insert(db, 1, 'Cat', 'keyword')
    expect(() => insert(db, 1, 'cat', 'keyword')).toThrow(/UNIQUE/)
    insert(db, 1, 'cat', 'concept', 'model', 0.83)
    insert(db, 2, 'cat', 'keyword')
    expect(() => insert(db, 1, 'dog', 'label')).toThrow(/CHECK/)
    expect(() => insert(db, 1, 'dog', 'keyword', 'robot')).toThrow(/CHECK/)
    expect(() => insert(db, 1, '   ', 'keyword')).toThrow(/CHECK/)
    expect(() => insert(db, 1, 'x'.repeat(201), 'keyword')).toThrow(/CHECK/)
    expect(() => insert(db, 99, 'dog', 'keyword')).toThrow(/FOREIGN KEY/)
    const rows = db.prepare(`SELECT image_id, tag, kind, source, score FROM image_tags ORDER BY id`).all()
    expect(rows).toEqual([
      { image_id: 1, tag: 'Cat', kind: 'keyword', source: 'human', score: null },
      { image_id: 1, tag: 'cat', kind: 'concept', source: 'model', score: 0.83 },
      { image_id: 2, tag: 'cat', kind: 'keyword', source: 'human', score: null }
    ])
    // The tag index answers case-insensitive lookups, and created_at is filled in.
    expect(db.prepare(`SELECT count(*) n FROM image_tags WHERE tag = 'CAT' AND kind = 'keyword'`).get()).toEqual({ n: 2 })
    expect(db.prepare(`SELECT created_at FROM image_tags WHERE id = 1`).get()).toMatchObject({ created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
  })

  it('tags go with their image when the image row is deleted', () => {
    const db = v1WithImages()
    migrate(db)
    insert(db, 2, 'sky', 'keyword')
    insert(db, 2, 'sky', 'concept', 'model', 0.5)
    insert(db, 1, 'sky', 'keyword')
    db.prepare(`DELETE FROM images WHERE id = 2`).run()
    expect(db.prepare(`SELECT image_id FROM image_tags`).all()).toEqual([{ image_id: 1 }])
  })
})
