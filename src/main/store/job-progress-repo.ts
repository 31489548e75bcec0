// Main process (plain Node). Staged job progress ([Note: staged jobs], migration 003): the current stage of
// a job that is not per-image (a pack build), its done/total in the stage's unit, and what it needs to resume.
import { prepared, type DB } from './db'

export interface StageProgress {
  stage: string
  index: number
  count: number
  unit: 'bytes' | 'captions' | 'items'
  done: number
  total: number
  detail: Record<string, unknown>
}

interface Row {
  stage: string
  stage_index: number
  stage_count: number
  unit: StageProgress['unit']
  done: number
  total: number
  detail: string
}

export class JobProgressRepo {
  constructor(private readonly db: DB) {}

  get(jobId: number): StageProgress | undefined {
    const r = prepared(this.db, `SELECT stage, stage_index, stage_count, unit, done, total, detail FROM job_progress WHERE job_id = ?`).get(jobId) as Row | undefined
    if (!r) return undefined
    let detail: Record<string, unknown> = {}
    try {
      const d = JSON.parse(r.detail) as unknown
      if (d && typeof d === 'object' && !Array.isArray(d)) detail = d as Record<string, unknown>
    } catch {
      // a damaged detail only loses resume hints; the stages re-check their work on disk
    }
    return { stage: r.stage, index: r.stage_index, count: r.stage_count, unit: r.unit, done: r.done, total: r.total, detail }
  }

  set(jobId: number, p: StageProgress): void {
    prepared(
      this.db,
      `INSERT INTO job_progress (job_id, stage, stage_index, stage_count, unit, done, total, detail, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))
       ON CONFLICT (job_id) DO UPDATE SET stage = excluded.stage, stage_index = excluded.stage_index, stage_count = excluded.stage_count,
         unit = excluded.unit, done = excluded.done, total = excluded.total, detail = excluded.detail, updated_at = excluded.updated_at`
    ).run(jobId, p.stage, p.index, p.count, p.unit, Math.max(0, p.done), Math.max(0, p.total), JSON.stringify(p.detail))
  }
}
