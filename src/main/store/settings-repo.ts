// Main process (plain Node). Small JSON settings of this library (one row per key). [Note: settings are
// input] A row may come from an older version or a hand-edited database, so every read names the valibot
// schema the value must have; a value that is not JSON or does not match reads as the caller's fallback.
import * as v from 'valibot'
import type { DB } from './db'

export class SettingsRepo {
  constructor(private readonly db: DB) {}

  get<S extends v.GenericSchema, F>(key: string, schema: S, fallback: F): v.InferOutput<S> | F {
    const row = this.db.prepare(`SELECT value FROM settings WHERE key = ?`).get(key) as { value: string } | undefined
    if (!row) return fallback
    let value: unknown
    try {
      value = JSON.parse(row.value)
    } catch {
      return fallback
    }
    const parsed = v.safeParse(schema, value)
    return parsed.success ? parsed.output : fallback
  }

  set(key: string, value: unknown): void {
    this.db.prepare(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(key, JSON.stringify(value))
  }
}
