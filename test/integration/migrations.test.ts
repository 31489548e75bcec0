// Migration 1: the initial schema. Each migration has its own test file.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { migrate, openDatabase, schemaVersion } from '../../src/main/store/db'
import { MIGRATIONS } from '../../src/main/store/migrations'
import { tempDir } from '../fixtures/images'

describe('migration 001 (initial schema)', () => {
  it('creates every table, sets user_version and is applied once', () => {
    const file = join(tempDir('mig'), 'db.sqlite')
    const only001 = MIGRATIONS.filter((m) => m.version === 1)
    const db = openDatabase(file, only001)
    expect(schemaVersion(db)).toBe(1)
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name)
    expect(tables).toEqual(expect.arrayContaining(['roots', 'images', 'captions', 'jobs', 'job_items', 'settings']))
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    db.close()
    // Re-opening does not re-run it (it would fail on CREATE TABLE).
    const again = openDatabase(file, only001)
    expect(schemaVersion(again)).toBe(1)
    again.close()
  })

  it('enforces one accepted caption per image, non-empty text and known statuses', () => {
    const db = new Database(':memory:')
    db.pragma('foreign_keys = ON')
    migrate(db, MIGRATIONS, 1)
    db.prepare(`INSERT INTO roots (path) VALUES ('/r')`).run()
    db.prepare(`INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms) VALUES (1, 'a.jpg', 'h', 1, 1)`).run()
    const ins = db.prepare(`INSERT INTO captions (image_id, text, status, source_kind) VALUES (1, ?, ?, 'human')`)
    ins.run('a cat', 'accepted')
    expect(() => ins.run('another', 'accepted')).toThrow(/UNIQUE/)
    expect(() => ins.run('   ', 'candidate')).toThrow(/CHECK/)
    expect(() => ins.run('x', 'deleted')).toThrow(/CHECK/)
    expect(() => db.prepare(`INSERT INTO captions (image_id, text, status, source_kind) VALUES (99, 'x', 'candidate', 'human')`).run()).toThrow(/FOREIGN KEY/)
    ins.run('a candidate', 'candidate')
    expect((db.prepare(`SELECT count(*) n FROM captions`).get() as { n: number }).n).toBe(2)
  })

  it('rolls back a failing migration as a whole', () => {
    const db = new Database(':memory:')
    const bad = [{ version: 1, name: 'bad', up: `CREATE TABLE t (x); CREATE TABLE t (x);` }]
    expect(() => migrate(db, bad)).toThrow()
    expect(schemaVersion(db)).toBe(0)
    expect(db.prepare(`SELECT count(*) n FROM sqlite_master WHERE name = 't'`).get()).toEqual({ n: 0 })
  })
})
