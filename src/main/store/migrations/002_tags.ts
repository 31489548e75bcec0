// Main process (plain Node). Migration 2: image tags — keywords users store and concepts the engine detects.
// [Note: tags] One table for both kinds: a keyword is a word or phrase a user keeps for an image (Lightroom-
// style), a concept is a salient word the engine found (with its probability as `score`). The unique key is
// (image, tag, kind) with a case-insensitive tag, so "Cat" and "cat" are one keyword, while the same word can
// be both a concept and a keyword. Rows go with their image (ON DELETE CASCADE); images are rarely deleted
// (moved or missing files keep their row), so tags survive rescans like captions do.
import type { Migration } from './types'

export const migration002: Migration = {
  version: 2,
  name: 'image tags (keywords and concepts)',
  up: `
    CREATE TABLE image_tags (
      id INTEGER PRIMARY KEY,
      image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
      tag TEXT NOT NULL COLLATE NOCASE CHECK (length(trim(tag)) > 0 AND length(tag) <= 200),
      kind TEXT NOT NULL CHECK (kind IN ('keyword','concept')),
      source TEXT NOT NULL CHECK (source IN ('human','model')),
      score REAL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      UNIQUE (image_id, tag, kind)
    );
    CREATE INDEX image_tags_tag ON image_tags(tag, kind);
  `
}
