// Main process (plain Node). SQL fragments every repository shares, written once: the timestamp the
// store writes, LIKE escaping, and the grid's text search (path or caption text). The migrations keep
// their own literal default (a migration is frozen history; it must not change when this file does).

/** The current time as the store records it: ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z"),
 *  the same text as the columns' DEFAULT in migrations/001_initial.ts, so rows sort and compare as text. */
export const SQL_NOW = `strftime('%Y-%m-%dT%H:%M:%fZ','now')`

/** A LIKE pattern matching `s` anywhere, literally: `\`, `%` and `_` are escaped (use with ESCAPE '\'). */
export function likeContains(s: string): string {
  return `%${s.replace(/[\\%_]/g, (m) => '\\' + m)}%`
}

/** The search box's condition on image `i`: its relative path, or the text of one of its accepted or open
 *  candidate captions, contains `search` (trimmed) literally. Null when the search is blank. */
export function textSearch(search: string): { sql: string; params: [string, string] } | null {
  const s = search.trim()
  if (!s) return null
  const like = likeContains(s)
  return {
    sql: `(i.rel_path LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM captions s WHERE s.image_id = i.id AND s.status IN ('accepted','candidate') AND s.text LIKE ? ESCAPE '\\'))`,
    params: [like, like]
  }
}

/** [Note: export exclusions] The condition every export query adds on image alias `i` (migration 004). */
export const NOT_EXCLUDED = `NOT EXISTS (SELECT 1 FROM export_exclusions x WHERE x.image_id = i.id)`
