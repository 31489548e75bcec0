// Main process (plain Node). Opens the studio database: WAL, foreign keys, numbered migrations.
// [Note: one writer] Exactly one better-sqlite3 connection per data dir is opened by the host and passed to
// every repository; all writes are synchronous statements on it (transactions where several rows change),
// so there is a single writer and no interleaving of partial writes.
import { appRoot } from '../paths'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { MIGRATIONS } from './migrations'
import type { Migration } from './migrations/types'

export type DB = Database.Database

/** [Note: native ABI] better-sqlite3 needs a build per ABI. Under Electron we look for an
 *  Electron-ABI build (made by `npm run rebuild:electron`) and pass it as `nativeBinding`, so one install
 *  serves both Node (serve, CLI, tests) and Electron. */
export function sqliteNativeBinding(): string | undefined {
  const explicit = process.env.STUDIO_SQLITE_BINDING
  if (explicit) return explicit
  if (process.versions.electron) {
    const candidate = join(appRoot(), 'build', 'electron', 'better_sqlite3.node')
    if (existsSync(candidate)) return candidate
  }
  return undefined
}

function nativeBindingOptions(): Database.Options {
  const binding = sqliteNativeBinding()
  return binding ? { nativeBinding: binding } : {}
}

export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): DB {
  const db = new Database(file, nativeBindingOptions())
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db, migrations)
  return db
}

export function schemaVersion(db: DB): number {
  return db.pragma('user_version', { simple: true }) as number
}

export function migrate(db: DB, migrations: readonly Migration[] = MIGRATIONS, target = Infinity): void {
  const current = schemaVersion(db)
  const sorted = [...migrations].sort((a, b) => a.version - b.version)
  for (const m of sorted) {
    if (m.version <= current || m.version > target) continue
    const apply = db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up)
      else m.up(db)
      db.pragma(`user_version = ${m.version}`)
    })
    apply()
  }
}

const statementCache = new WeakMap<DB, Map<string, Database.Statement>>()

/** A prepared statement, compiled once per connection and SQL text (bounded: dynamic SQL cannot grow it
 *  without limit). Repositories use this instead of `db.prepare` on hot paths. */
export function prepared(db: DB, sql: string): Database.Statement {
  let cache = statementCache.get(db)
  if (!cache) statementCache.set(db, (cache = new Map()))
  let stmt = cache.get(sql)
  if (!stmt) {
    if (cache.size >= 500) cache.clear()
    stmt = db.prepare(sql)
    cache.set(sql, stmt)
  }
  return stmt
}
