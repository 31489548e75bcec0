// Main process (plain Node). Queries of the review domain: the filtered and sorted grid, accepted captions
// for term counts and find & replace, best candidates for bulk accept, and image tags.
// [Note: image score] The score of an image on a key (clipS, aclipS…) is its accepted caption's score on
// that key when it has an accepted caption (NULL when that caption has none, e.g. typed by hand: the score
// of another text would mislead), otherwise the highest score on that key among its open candidates.
import * as v from 'valibot'
import type { ReviewQuery, Tag, TagKind } from '@shared/contract/review'
import { hasTerm, tokenize } from '@shared/terms'
import type { Caption } from '@shared/contract/captions'
import type { DB } from './db'
import { FILTER_SQL, VISIBLE, WORDS_SQL } from './images-repo'
import { textSearch } from './sql'

export type ParsedReviewQuery = v.InferOutput<typeof ReviewQuery>

export interface AcceptedRow {
  imageId: number
  relPath: string
  captionId: number
  text: string
}

/** [Note: best candidate] The engine's ranking score (`score`), then its rank, then insertion order. */
const BEST_CANDIDATE_ORDER = `json_extract(c.scores, '$.score') DESC NULLS LAST, json_extract(c.scores, '$.rank') ASC NULLS LAST, c.id ASC`

const SCORE_SQL = `CASE WHEN acc.id IS NOT NULL THEN json_extract(acc.scores, ?)
  ELSE (SELECT max(json_extract(c.scores, ?)) FROM captions c WHERE c.image_id = i.id AND c.status = 'candidate') END`

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(',')
}

export class ReviewRepo {
  constructor(private readonly db: DB) {}

  /** Ordered ids (and scores) for the grid under the review filters. */
  query(q: ParsedReviewQuery): { ids: number[]; scores: (number | null)[] } {
    const path = `$.${q.scoreKey}`
    const params: unknown[] = [path, path]
    const where = [VISIBLE, FILTER_SQL[q.status]]
    const text = textSearch(q.search)
    if (text) {
      where.push(text.sql)
      params.push(...text.params)
    }
    for (const t of q.tags) {
      where.push(`EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.tag = ?${t.kind ? ' AND t.kind = ?' : ''})`)
      params.push(t.tag, ...(t.kind ? [t.kind] : []))
    }
    const outer: string[] = []
    if (q.minScore !== null) {
      outer.push('score >= ?')
      params.push(q.minScore)
    }
    if (q.maxScore !== null) {
      outer.push('score <= ?')
      params.push(q.maxScore)
    }
    if (q.minWords !== null) {
      outer.push(`text IS NOT NULL AND ${WORDS_SQL('text')} >= ?`)
      params.push(q.minWords)
    }
    if (q.maxWords !== null) {
      outer.push(`text IS NOT NULL AND ${WORDS_SQL('text')} <= ?`)
      params.push(q.maxWords)
    }
    const order =
      q.sort === 'path' ? 'root_id, rel_path' : `score IS NULL, score ${q.sort === 'score-asc' ? 'ASC' : 'DESC'}, root_id, rel_path`
    const sql = `SELECT id, score, text FROM (
        SELECT i.id, i.root_id, i.rel_path, ${SCORE_SQL} AS score, acc.text AS text
        FROM images i LEFT JOIN captions acc ON acc.image_id = i.id AND acc.status = 'accepted'
        WHERE ${where.join(' AND ')}
      ) ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''} ORDER BY ${order}`
    let rows = this.db.prepare(sql).all(...params) as { id: number; score: number | null; text: string | null }[]
    // Terms are matched on tokens (see shared/terms.ts), which SQL LIKE cannot do for non-ASCII case or
    // word boundaries; the rows are already narrowed by SQL and tokenizing short captions is cheap.
    if (q.terms.length > 0 || q.notTerms.length > 0) {
      rows = rows.filter((r) => {
        const tokens = r.text ? tokenize(r.text) : []
        return q.terms.every((t) => hasTerm(tokens, t)) && !q.notTerms.some((t) => hasTerm(tokens, t))
      })
    }
    return { ids: rows.map((r) => r.id), scores: rows.map((r) => (typeof r.score === 'number' ? r.score : null)) }
  }

  /** Accepted captions of visible images (optionally only of `ids`), in library order. */
  accepted(ids?: readonly number[]): AcceptedRow[] {
    const base = `SELECT i.id AS imageId, i.rel_path AS relPath, c.id AS captionId, c.text AS text
      FROM images i JOIN captions c ON c.image_id = i.id AND c.status = 'accepted' WHERE ${VISIBLE}`
    if (!ids) return this.db.prepare(`${base} ORDER BY i.root_id, i.rel_path`).all() as AcceptedRow[]
    const out: AcceptedRow[] = []
    // Chunked: SQLite limits the number of bound parameters per statement.
    for (let k = 0; k < ids.length; k += 900) {
      const chunk = ids.slice(k, k + 900)
      out.push(...(this.db.prepare(`${base} AND i.id IN (${placeholders(chunk.length)})`).all(...chunk) as AcceptedRow[]))
    }
    const pos = new Map(ids.map((id, n) => [id, n]))
    return out.sort((a, b) => pos.get(a.imageId)! - pos.get(b.imageId)!)
  }

  relPath(imageId: number): string | undefined {
    return (this.db.prepare(`SELECT rel_path FROM images WHERE id = ?`).get(imageId) as { rel_path: string } | undefined)?.rel_path
  }

  /** The id of the best open candidate of an image (see [Note: best candidate]). */
  bestCandidateId(imageId: number): number | null {
    const r = this.db.prepare(`SELECT c.id FROM captions c WHERE c.image_id = ? AND c.status = 'candidate' ORDER BY ${BEST_CANDIDATE_ORDER} LIMIT 1`).get(imageId) as
      | { id: number }
      | undefined
    return r?.id ?? null
  }

  /** Ids of the open candidates and/or the accepted caption of an image. */
  openCaptionIds(imageId: number, statuses: readonly Caption['status'][]): number[] {
    return (this.db.prepare(`SELECT id FROM captions WHERE image_id = ? AND status IN (${placeholders(statuses.length)}) ORDER BY id`).raw().all(imageId, ...statuses) as [number][]).map(
      (r) => r[0]
    )
  }

  // ---- tags ----

  /** Add a tag to images; returns how many images got it (existing ones are left unchanged). */
  addTag(imageIds: readonly number[], tag: string, kind: TagKind, source: 'human' | 'model', score: number | null): number {
    // Tags compare case-insensitively; a new image gets the spelling the library already uses.
    const spelling = (this.db.prepare(`SELECT tag FROM image_tags WHERE tag = ? AND kind = ? ORDER BY id LIMIT 1`).get(tag, kind) as { tag: string } | undefined)?.tag ?? tag
    const ins = this.db.prepare(
      `INSERT INTO image_tags (image_id, tag, kind, source, score) SELECT id, ?, ?, ?, ? FROM images WHERE id = ? ON CONFLICT (image_id, tag, kind) DO NOTHING`
    )
    const tx = this.db.transaction(() => imageIds.reduce((n, id) => n + ins.run(spelling, kind, source, score, id).changes, 0))
    return tx()
  }

  /** Store the concepts the engine detected for an image, replacing its earlier model concepts. */
  setConcepts(imageId: number, concepts: readonly { word: string; prob: number }[]): void {
    const tx = this.db.transaction(() => {
      this.db.prepare(`DELETE FROM image_tags WHERE image_id = ? AND kind = 'concept' AND source = 'model'`).run(imageId)
      const ins = this.db.prepare(
        `INSERT INTO image_tags (image_id, tag, kind, source, score) VALUES (?, ?, 'concept', 'model', ?) ON CONFLICT (image_id, tag, kind) DO NOTHING`
      )
      for (const c of concepts) if (c.word.trim()) ins.run(imageId, c.word.trim(), c.prob)
    })
    tx()
  }

  removeTag(imageIds: readonly number[], tag: string, kind: TagKind): number {
    const del = this.db.prepare(`DELETE FROM image_tags WHERE image_id = ? AND tag = ? AND kind = ?`)
    const tx = this.db.transaction(() => imageIds.reduce((n, id) => n + del.run(id, tag, kind).changes, 0))
    return tx()
  }

  tagsOf(imageId: number): Tag[] {
    const rows = this.db
      .prepare(`SELECT tag, kind, source, score, created_at FROM image_tags WHERE image_id = ? ORDER BY kind DESC, score DESC NULLS LAST, tag`)
      .all(imageId) as { tag: string; kind: TagKind; source: 'human' | 'model'; score: number | null; created_at: string }[]
    return rows.map((r) => ({ tag: r.tag, kind: r.kind, source: r.source, score: r.score, createdAt: r.created_at }))
  }

  allTags(): { tag: string; kind: TagKind; images: number }[] {
    return this.db
      .prepare(
        `SELECT min(t.tag) AS tag, t.kind, count(DISTINCT t.image_id) AS images FROM image_tags t JOIN images i ON i.id = t.image_id
         WHERE ${VISIBLE} GROUP BY t.tag, t.kind ORDER BY images DESC, tag`
      )
      .all() as { tag: string; kind: TagKind; images: number }[]
  }
}
