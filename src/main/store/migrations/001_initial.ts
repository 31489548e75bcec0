// Main process (plain Node). Migration 1: roots, images, captions with history, jobs and job items, settings.
import type { Migration } from './types'

export const migration001: Migration = {
  version: 1,
  name: 'initial schema',
  up: `
    CREATE TABLE roots (
      id INTEGER PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      removed_at TEXT
    );
    CREATE TABLE images (
      id INTEGER PRIMARY KEY,
      root_id INTEGER NOT NULL REFERENCES roots(id),
      rel_path TEXT NOT NULL,
      hash TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      mtime_ms REAL NOT NULL,
      width INTEGER,
      height INTEGER,
      orientation INTEGER,
      format TEXT,
      error TEXT,
      missing INTEGER NOT NULL DEFAULT 0,
      duplicate_of INTEGER REFERENCES images(id),
      scan_gen INTEGER NOT NULL DEFAULT 0,
      added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      UNIQUE (root_id, rel_path)
    );
    CREATE INDEX images_hash ON images(hash);
    CREATE TABLE captions (
      id INTEGER PRIMARY KEY,
      image_id INTEGER NOT NULL REFERENCES images(id),
      text TEXT NOT NULL CHECK (length(trim(text)) > 0),
      status TEXT NOT NULL CHECK (status IN ('candidate','accepted','rejected','superseded')),
      source_kind TEXT NOT NULL CHECK (source_kind IN ('human','model')),
      pack_id TEXT,
      method TEXT,
      params TEXT,
      scores TEXT NOT NULL DEFAULT '{}',
      parent_id INTEGER REFERENCES captions(id),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE UNIQUE INDEX captions_one_accepted ON captions(image_id) WHERE status = 'accepted';
    CREATE INDEX captions_image_status ON captions(image_id, status);
    CREATE TABLE jobs (
      id INTEGER PRIMARY KEY,
      kind TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('queued','running','paused','done','cancelled','failed')),
      params TEXT NOT NULL DEFAULT '{}',
      error TEXT,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      finished_at TEXT
    );
    CREATE TABLE job_items (
      job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      image_id INTEGER NOT NULL REFERENCES images(id),
      state TEXT NOT NULL CHECK (state IN ('pending','done','failed','skipped')),
      error TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      result TEXT,
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      PRIMARY KEY (job_id, image_id)
    );
    CREATE INDEX job_items_pending ON job_items(job_id, state, seq);
    CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
  `
}
