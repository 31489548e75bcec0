// Main process (plain Node). Migration 4: image embeddings kept per pack, perceptual hashes, export exclusions.
// [Note: embedding spaces] An embedding belongs to one pack id AND version: a pack update may retrain the
// encoder, and vectors of two versions must never be compared, so the key is (image, pack, version) and every
// read names both. The vector is int8 with one float scale per row (x ≈ scale·q, |q| ≤ 127): 1 byte per
// dimension, 512 B for a 512-d CLIP row, against 2 KB as float32; `dim` is kept so a row can be checked.
// [Note: export exclusions] "Keep one, exclude the others" from a near-duplicate group marks images, it never
// deletes files: one row per excluded image, honoured by every export format (captions-repo, export-repo).
// Perceptual hashes are keyed by content hash (the same bytes hash the same wherever the file lives); a row
// holds several 64-bit hashes as 16 hex digits each (the whole image, then crop windows: phash.ts).
import type { Migration } from './types'

export const migration004: Migration = {
  version: 4,
  name: 'image embeddings, perceptual hashes, export exclusions',
  up: `
    CREATE TABLE image_embeddings (
      image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
      pack_id TEXT NOT NULL CHECK (length(pack_id) > 0),
      pack_version TEXT NOT NULL,
      dim INTEGER NOT NULL CHECK (dim > 0),
      scale REAL NOT NULL CHECK (scale >= 0),
      vec BLOB NOT NULL CHECK (length(vec) = dim),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      PRIMARY KEY (pack_id, pack_version, image_id)
    ) WITHOUT ROWID;
    CREATE INDEX image_embeddings_image ON image_embeddings(image_id);
    CREATE TABLE perceptual_hashes (
      content_hash TEXT PRIMARY KEY,
      phash TEXT NOT NULL CHECK (length(phash) > 0 AND length(phash) % 16 = 0)
    ) WITHOUT ROWID;
    CREATE TABLE export_exclusions (
      image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
      reason TEXT NOT NULL CHECK (reason IN ('duplicate','manual')),
      kept_id INTEGER REFERENCES images(id) ON DELETE SET NULL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
  `
}
