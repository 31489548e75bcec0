// Main process (plain Node). Migration 3: progress of jobs that are not per-image (the pack builder).
// [Note: staged jobs] A caption job's progress is counted from its job_items; a pack build has stages
// (download, embed the corpus, build the datastore, …) whose units differ (bytes, captions), so one row per
// job keeps the current stage and its done/total, and `detail` (JSON) what the stage needs to resume. The
// work itself is checkpointed on disk by each stage (verified downloads, the embeddings file), so this row
// only has to say where to look; it is written in the same transaction as the job's state changes.
import type { Migration } from './types'

export const migration003: Migration = {
  version: 3,
  name: 'staged job progress (pack builds)',
  up: `
    CREATE TABLE job_progress (
      job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
      stage TEXT NOT NULL,
      stage_index INTEGER NOT NULL CHECK (stage_index >= 0),
      stage_count INTEGER NOT NULL CHECK (stage_count >= 1),
      unit TEXT NOT NULL CHECK (unit IN ('bytes','captions','items')),
      done REAL NOT NULL DEFAULT 0 CHECK (done >= 0),
      total REAL NOT NULL DEFAULT 0 CHECK (total >= 0),
      detail TEXT NOT NULL DEFAULT '{}',
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
  `
}
