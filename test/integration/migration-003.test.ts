// Migration 3: job_progress (staged jobs such as pack builds), applied on top of a version-2 database that
// already holds a caption job, as an upgrading user's library would.
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../src/main/store/db'
import { MIGRATIONS } from '../../src/main/store/migrations'

function v2WithJob(): Database.Database {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  migrate(db, MIGRATIONS, 2)
  db.prepare(`INSERT INTO jobs (kind, state, params) VALUES ('caption', 'done', '{}')`).run()
  return db
}

const progress = (db: Database.Database, jobId: number, over: Record<string, unknown> = {}) => {
  const row = { stage: 'download', stage_index: 0, stage_count: 5, unit: 'bytes', done: 0, total: 10, ...over }
  return db
    .prepare(`INSERT INTO job_progress (job_id, stage, stage_index, stage_count, unit, done, total) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(jobId, row.stage, row.stage_index, row.stage_count, row.unit, row.done, row.total)
}

describe('migration 003 (job progress)', () => {
  it('upgrades a version-2 library in place, keeping its jobs', () => {
    const db = v2WithJob()
    migrate(db, MIGRATIONS, 3)
    expect(schemaVersion(db)).toBe(3)
    expect(db.prepare(`SELECT kind, state FROM jobs`).all()).toEqual([{ kind: 'caption', state: 'done' }])
    const cols = (db.prepare(`PRAGMA table_info(job_progress)`).all() as { name: string }[]).map((c) => c.name)
    expect(cols).toEqual(['job_id', 'stage', 'stage_index', 'stage_count', 'unit', 'done', 'total', 'detail', 'updated_at'])
  })

  it('one row per job, removed with its job; checks unit, counts and the job reference', () => {
    const db = v2WithJob()
    migrate(db, MIGRATIONS, 3)
    progress(db, 1)
    expect(() => progress(db, 1)).toThrow(/UNIQUE|PRIMARY/)
    expect(() => progress(db, 99)).toThrow(/FOREIGN KEY/)
    db.prepare(`INSERT INTO jobs (kind, state) VALUES ('pack-build', 'queued')`).run()
    expect(() => progress(db, 2, { unit: 'parsecs' })).toThrow(/CHECK/)
    expect(() => progress(db, 2, { done: -1 })).toThrow(/CHECK/)
    expect(() => progress(db, 2, { stage_count: 0 })).toThrow(/CHECK/)
    db.prepare(`DELETE FROM jobs WHERE id = 1`).run()
    expect(db.prepare(`SELECT count(*) n FROM job_progress`).get()).toEqual({ n: 0 })
  })
})
