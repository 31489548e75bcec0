// Main process (plain Node). Caption rows. [Note: caption history] Nothing is overwritten: accepting
// inserts a new row and supersedes the previous accepted one in the same transaction; undo inserts a copy
// of the previous text. The partial unique index `captions_one_accepted` guarantees one accepted row.
import type { Caption, CaptionSource } from '@shared/contract/captions'
import { normalizeCaption } from '@shared/caption-text'
import { StudioError } from '@shared/errors'
import { prepared, type DB } from './db'
import { NOT_EXCLUDED, SQL_NOW } from './sql'

interface CaptionRow {
  id: number
  image_id: number
  text: string
  status: Caption['status']
  source_kind: 'human' | 'model'
  pack_id: string | null
  method: string | null
  params: string | null
  scores: string
  parent_id: number | null
  created_at: string
  updated_at: string
}

export interface NewCandidate {
  text: string
  source: CaptionSource
  scores: Record<string, number>
}

function toCaption(r: CaptionRow): Caption {
  const source: CaptionSource = { kind: r.source_kind }
  if (r.pack_id) source.packId = r.pack_id
  if (r.method) source.method = r.method
  if (r.params) source.params = JSON.parse(r.params) as Record<string, unknown>
  return {
    id: r.id,
    imageId: r.image_id,
    text: r.text,
    status: r.status,
    source,
    scores: JSON.parse(r.scores) as Record<string, number>,
    parentId: r.parent_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

export class CaptionsRepo {
  constructor(private readonly db: DB) {}

  get(id: number): Caption | undefined {
    const r = prepared(this.db, `SELECT * FROM captions WHERE id = ?`).get(id) as CaptionRow | undefined
    return r ? toCaption(r) : undefined
  }

  accepted(imageId: number): Caption | null {
    const r = prepared(this.db, `SELECT * FROM captions WHERE image_id = ? AND status = 'accepted'`).get(imageId) as CaptionRow | undefined
    return r ? toCaption(r) : null
  }

  forImage(imageId: number): { accepted: Caption | null; candidates: Caption[]; history: Caption[] } {
    const rows = (prepared(this.db, `SELECT * FROM captions WHERE image_id = ? ORDER BY id`).all(imageId) as CaptionRow[]).map(toCaption)
    const candidates = rows
      .filter((c) => c.status === 'candidate')
      .sort((a, b) => (b.scores.rank !== undefined && a.scores.rank !== undefined ? a.scores.rank - b.scores.rank : 0))
    return { accepted: rows.find((c) => c.status === 'accepted') ?? null, candidates, history: rows }
  }

  private insertRow(imageId: number, text: string, status: Caption['status'], source: CaptionSource, scores: Record<string, number>, parentId: number | null): number {
    const clean = normalizeCaption(text)
    if (!clean) throw new StudioError('invalid_input', 'a caption cannot be empty')
    const info = this.db
      .prepare(
        `INSERT INTO captions (image_id, text, status, source_kind, pack_id, method, params, scores, parent_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
      )
      .run(imageId, clean, status, source.kind, source.packId ?? null, source.method ?? null, source.params ? JSON.stringify(source.params) : null, JSON.stringify(scores), parentId)
    return Number(info.lastInsertRowid)
  }

  /** Accept a caption for an image. A candidate accepted unchanged becomes accepted in place (its
   *  provenance is the model's); an edited or typed text becomes a new human row. */
  accept(imageId: number, text: string, source: CaptionSource, scores: Record<string, number>, fromCandidateId?: number): { caption: Caption; previousId: number | null; changed: boolean } {
    const tx = this.db.transaction(() => {
      const prev = this.accepted(imageId)
      const clean = normalizeCaption(text)
      if (prev && prev.text === clean && fromCandidateId === undefined) return { caption: prev, previousId: null, changed: false }
      if (prev) prepared(this.db, `UPDATE captions SET status = 'superseded', updated_at = ${SQL_NOW} WHERE id = ?`).run(prev.id)
      let id: number
      const cand = fromCandidateId !== undefined ? this.get(fromCandidateId) : undefined
      if (fromCandidateId !== undefined && (!cand || cand.imageId !== imageId)) throw new StudioError('not_found', `candidate ${fromCandidateId} not found for image ${imageId}`)
      if (cand && cand.text === clean && cand.status === 'candidate') {
        prepared(this.db, `UPDATE captions SET status = 'accepted', updated_at = ${SQL_NOW} WHERE id = ?`).run(cand.id)
        id = cand.id
      } else {
        const src: CaptionSource = cand ? { kind: 'human', method: 'edited', params: { fromCandidate: cand.id, ...(cand.source.packId ? { packId: cand.source.packId } : {}) } } : source
        id = this.insertRow(imageId, clean, 'accepted', src, scores, cand?.id ?? prev?.id ?? null)
      }
      return { caption: this.get(id)!, previousId: prev?.id ?? null, changed: true }
    })
    return tx()
  }

  reject(captionId: number): Caption {
    const c = this.get(captionId)
    if (!c) throw new StudioError('not_found', `caption ${captionId} not found`)
    if (c.status !== 'candidate' && c.status !== 'accepted') throw new StudioError('conflict', `caption ${captionId} is ${c.status}`)
    prepared(this.db, `UPDATE captions SET status = 'rejected', updated_at = ${SQL_NOW} WHERE id = ?`).run(captionId)
    return this.get(captionId)!
  }

  /** Undo an accept: the current accepted row is superseded and the previous text (if any) is restored
   *  as a new accepted row that points at it. */
  undo(imageId: number, captionId: number, previousId: number | null): Caption | null {
    const tx = this.db.transaction(() => {
      const cur = this.accepted(imageId)
      if (!cur || cur.id !== captionId) throw new StudioError('conflict', 'the caption changed since; nothing to undo')
      const cand = cur.source.kind === 'model'
      prepared(this.db, `UPDATE captions SET status = ?, updated_at = ${SQL_NOW} WHERE id = ?`).run(cand ? 'candidate' : 'superseded', cur.id)
      if (previousId === null) return null
      const prev = this.get(previousId)
      if (!prev || prev.imageId !== imageId) throw new StudioError('not_found', `caption ${previousId} not found for image ${imageId}`)
      const id = this.insertRow(imageId, prev.text, 'accepted', prev.source, prev.scores, prev.id)
      return this.get(id)!
    })
    return tx()
  }

  /** Store model candidates for review (never empty texts; duplicates of open candidates are skipped). */
  addCandidates(imageId: number, items: readonly NewCandidate[]): Caption[] {
    const tx = this.db.transaction(() => {
      const open = new Set(this.forImage(imageId).candidates.map((c) => c.text))
      const ids: number[] = []
      for (const it of items) {
        const clean = normalizeCaption(it.text)
        if (!clean || open.has(clean)) continue
        open.add(clean)
        ids.push(this.insertRow(imageId, clean, 'candidate', it.source, it.scores, null))
      }
      return ids.map((id) => this.get(id)!)
    })
    return tx()
  }

  /** Accepted captions for export, in library order. */
  acceptedForExport(rootId?: number): { imageId: number; rootId: number; rootPath: string; relPath: string; width: number | null; height: number | null; text: string; captionId: number }[] {
    return this.db
      .prepare(
        `SELECT i.id AS imageId, i.root_id AS rootId, r.path AS rootPath, i.rel_path AS relPath, i.width, i.height, c.text, c.id AS captionId
         FROM captions c JOIN images i ON i.id = c.image_id JOIN roots r ON r.id = i.root_id
         WHERE c.status = 'accepted' AND r.removed_at IS NULL AND i.duplicate_of IS NULL AND ${NOT_EXCLUDED} AND (? IS NULL OR i.root_id = ?)
         ORDER BY i.root_id, i.rel_path`
      )
      .all(rootId ?? null, rootId ?? null) as never
  }
}
