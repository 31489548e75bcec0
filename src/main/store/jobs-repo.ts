// Main process (plain Node). Jobs and job items. Item state changes and the results they carry are written
// in one transaction with the captions they produce (see jobs/runner.ts), so a kill never half-finishes one.
import type { JobState, JobSummary } from '@shared/contract/jobs'
import { prepared, type DB } from './db'
import { JobProgressRepo } from './job-progress-repo'
import { SQL_NOW } from './sql'

interface JobRow {
  id: number
  kind: string
  state: JobState
  params: string
  error: string | null
  created_at: string
  updated_at: string
}

export class JobsRepo {
  private readonly stages: JobProgressRepo

  constructor(private readonly db: DB) {
    this.stages = new JobProgressRepo(db)
  }

  create(kind: string, params: Record<string, unknown>, imageIds: readonly number[]): number {
    const tx = this.db.transaction(() => {
      const id = Number(prepared(this.db, `INSERT INTO jobs (kind, state, params) VALUES (?, 'queued', ?)`).run(kind, JSON.stringify(params)).lastInsertRowid)
      // [Note: one statement for the items] SQLite walks the id list itself (json_each): 5,000 items took 9 ms
      // as one INSERT per row from JavaScript and 2.4 ms this way, 50,000 items 80 vs 24 ms (quiet machine).
      prepared(this.db, `INSERT OR IGNORE INTO job_items (job_id, seq, image_id, state) SELECT ?, key, value, 'pending' FROM json_each(?)`).run(id, JSON.stringify(imageIds))
      return id
    })
    return tx()
  }

  summary(id: number): JobSummary | undefined {
    const j = prepared(this.db, `SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow | undefined
    if (!j) return undefined
    // [Note: staged jobs] a staged job (pack build) counts its current stage; a caption job its items
    const staged = this.stages.get(id)
    const c = staged
      ? { total: staged.total, done: staged.done, failed: 0, pending: Math.max(0, staged.total - staged.done) }
      : (prepared(this.db,
            `SELECT count(*) AS total, count(*) FILTER (WHERE state IN ('done','skipped')) AS done,
                count(*) FILTER (WHERE state = 'failed') AS failed, count(*) FILTER (WHERE state = 'pending') AS pending
         FROM job_items WHERE job_id = ?`
          )
          .get(id) as { total: number; done: number; failed: number; pending: number })
    return {
      id: j.id,
      kind: j.kind,
      state: j.state,
      total: c.total,
      done: c.done,
      failed: c.failed,
      pending: c.pending,
      createdAt: j.created_at,
      updatedAt: j.updated_at,
      error: j.error,
      params: JSON.parse(j.params) as Record<string, unknown>,
      ...(staged ? { stage: { name: staged.stage, index: staged.index, count: staged.count, unit: staged.unit } } : {})
    }
  }

  /** The job's state alone (the runner asks before every chunk; summary() counts all the job's items). */
  state(id: number): JobState | undefined {
    return (prepared(this.db, `SELECT state FROM jobs WHERE id = ?`).raw().get(id) as [JobState] | undefined)?.[0]
  }

  list(): JobSummary[] {
    const ids = prepared(this.db, `SELECT id FROM jobs ORDER BY id DESC LIMIT 200`).raw().all() as [number][]
    return ids.map(([id]) => this.summary(id)!)
  }

  setState(id: number, state: JobState, error: string | null = null): void {
    const finished = state === 'done' || state === 'cancelled' || state === 'failed'
    prepared(this.db, `UPDATE jobs SET state = ?, error = ?, updated_at = ${SQL_NOW}, finished_at = ${finished ? SQL_NOW : 'NULL'} WHERE id = ?`).run(state, error, id)
  }

  /** Jobs of one kind to run, oldest first: running ones (interrupted by a crash) before queued ones. */
  runnable(kind = 'caption'): number[] {
    const rows = prepared(this.db, `SELECT id FROM jobs WHERE kind = ? AND state IN ('running','queued') ORDER BY CASE state WHEN 'running' THEN 0 ELSE 1 END, id`).raw().all(kind) as [number][]
    return rows.map(([id]) => id)
  }

  /** The first `n` pending items in queue order. */
  nextPendingBatch(jobId: number, n: number): { imageId: number; seq: number; attempts: number }[] {
    return prepared(this.db, `SELECT image_id AS imageId, seq, attempts FROM job_items WHERE job_id = ? AND state = 'pending' ORDER BY seq LIMIT ?`)
      .all(jobId, Math.max(1, n)) as { imageId: number; seq: number; attempts: number }[]
  }

  isPending(jobId: number, imageId: number): boolean {
    return prepared(this.db, `SELECT 1 FROM job_items WHERE job_id = ? AND image_id = ? AND state = 'pending'`).get(jobId, imageId) !== undefined
  }

  finishItem(jobId: number, imageId: number, state: 'done' | 'failed' | 'skipped', error: string | null, result: unknown): void {
    prepared(this.db, `UPDATE job_items SET state = ?, error = ?, result = ?, attempts = attempts + 1, updated_at = ${SQL_NOW} WHERE job_id = ? AND image_id = ?`)
      .run(state, error, result === undefined ? null : JSON.stringify(result), jobId, imageId)
  }

  retryFailed(jobId: number): number {
    return prepared(this.db, `UPDATE job_items SET state = 'pending', error = NULL WHERE job_id = ? AND state = 'failed'`).run(jobId).changes
  }

  failures(jobId: number): { imageId: number; relPath: string; error: string; attempts: number }[] {
    return prepared(this.db,
        `SELECT ji.image_id AS imageId, i.rel_path AS relPath, coalesce(ji.error, '') AS error, ji.attempts
         FROM job_items ji JOIN images i ON i.id = ji.image_id WHERE ji.job_id = ? AND ji.state = 'failed' ORDER BY ji.seq LIMIT 1000`
      )
      .all(jobId) as { imageId: number; relPath: string; error: string; attempts: number }[]
  }
}
