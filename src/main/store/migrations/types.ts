// Main process (plain Node). A numbered migration: SQL text or a function, applied once, in a transaction.
import type Database from 'better-sqlite3'

export interface Migration {
  version: number
  name: string
  up: string | ((db: Database.Database) => void)
}
