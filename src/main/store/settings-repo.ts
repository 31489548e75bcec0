// Main process (plain Node). Small JSON settings of this library (one row per key).
import type { DB } from './db'

export class SettingsRepo {
  constructor(private readonly db: DB) {}

  get<T>(key: string, fallback: T): T {
    const row = this.db.prepare(`SELECT value FROM settings WHERE key = ?`).get(key) as { value: string } | undefined
    if (!row) return fallback
    try {
      return JSON.parse(row.value) as T
    } catch {
      return fallback
    }
  }

  set(key: string, value: unknown): void {
    this.db.prepare(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(key, JSON.stringify(value))
  }
}
