// Main process (plain Node). What the exporters that write keywords read: image tags per image, and for
// XMP sidecars every image that has an accepted caption or a tag (a photo with keywords and no caption
// still gets its dc:subject).
import type { TagKind } from '@shared/contract/review'
import type { DB } from './db'
import { NOT_EXCLUDED } from './sql'

export interface TaggedRow {
  imageId: number
  rootId: number
  rootPath: string
  relPath: string
  /** The accepted caption, or null for an image that only has tags. */
  text: string | null
  tags: string[]
}

function kindsSql(kinds: readonly TagKind[]): string {
  return kinds.map((k) => `'${k === 'concept' ? 'concept' : 'keyword'}'`).join(',')
}

/** Tags of every image, keywords first (in the order they were added), then concepts by score. */
export function tagsByImage(db: DB, kinds: readonly TagKind[]): Map<number, string[]> {
  const out = new Map<number, string[]>()
  if (kinds.length === 0) return out
  const rows = db
    .prepare(`SELECT image_id, tag FROM image_tags WHERE kind IN (${kindsSql(kinds)}) ORDER BY image_id, kind DESC, score DESC NULLS LAST, id`)
    .raw()
    .all() as [number, string][]
  for (const [id, tag] of rows) {
    const list = out.get(id)
    if (list) list.push(tag)
    else out.set(id, [tag])
  }
  return out
}

/** Visible images with an accepted caption or a tag of `kinds`, in library order. */
export function captionedOrTagged(db: DB, kinds: readonly TagKind[], rootId?: number): TaggedRow[] {
  const tagged = kinds.length ? `OR EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.kind IN (${kindsSql(kinds)}))` : ''
  const rows = db
    .prepare(
      `SELECT i.id AS imageId, i.root_id AS rootId, r.path AS rootPath, i.rel_path AS relPath, c.text AS text
       FROM images i JOIN roots r ON r.id = i.root_id LEFT JOIN captions c ON c.image_id = i.id AND c.status = 'accepted'
       WHERE r.removed_at IS NULL AND i.duplicate_of IS NULL AND ${NOT_EXCLUDED} AND (? IS NULL OR i.root_id = ?) AND (c.id IS NOT NULL ${tagged})
       ORDER BY i.root_id, i.rel_path`
    )
    .all(rootId ?? null, rootId ?? null) as Omit<TaggedRow, 'tags'>[]
  const tags = tagsByImage(db, kinds)
  return rows.map((r) => ({ ...r, tags: tags.get(r.imageId) ?? [] }))
}
