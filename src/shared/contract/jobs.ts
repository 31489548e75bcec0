// Shared by every process: batch jobs (captioning a selection, a folder or a filter), persisted in SQLite.
// [Note: jobs survive] A job and its per-image items live in the database; a killed host resumes running
// jobs at the next unfinished item on start, and finished items are never redone or lost.
import * as v from 'valibot'
import { Empty, Id, Ok, op } from './define'
import { CaptionOptionsSchema } from './engine'
import { ImageFilter } from './library'

export const JobState = v.picklist(['queued', 'running', 'paused', 'done', 'cancelled', 'failed'])
export type JobState = v.InferOutput<typeof JobState>

export const JobScope = v.variant('kind', [
  v.object({ kind: v.literal('ids'), ids: v.pipe(v.array(Id), v.minLength(1), v.maxLength(1_000_000)) }),
  v.object({ kind: v.literal('filter'), filter: ImageFilter }),
  v.object({ kind: v.literal('root'), rootId: Id })
])

/** [Note: fleet protocol] Run the job on a worker fleet through Redis instead of this machine's engine: the
 *  images' paths and content hashes go to the queue, never their pixels (docs/fleet.md). */
export const FleetTarget = v.object({
  redis: v.pipe(v.string(), v.maxLength(2000), v.regex(/^rediss?:\/\/[^\s]+$/, 'a Redis URL: redis://host:port or rediss://…')),
  /** Images per queued chunk (default 8) and chunks queued or running at once (default 64). */
  chunk: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
  window: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)))
})

export const CaptionJobRequest = v.object({
  scope: JobScope,
  /** Skip images that already have an accepted caption (default), or caption everything in scope. */
  onlyUncaptioned: v.optional(v.boolean(), true),
  /** Engine options for each image: the same schema as captions.suggest and engine.caption (unknown keys are
   *  dropped, bad values refused when the job is queued, not per image); the pack defaults fill the rest. */
  options: v.optional(CaptionOptionsSchema, {}),
  /** Auto-accept the best candidate when its score is at least this (off by default: candidates wait for review). */
  autoAcceptAbove: v.optional(v.nullable(v.pipe(v.number(), v.minValue(0))), null),
  /** Caption on the fleet at this Redis instead of this machine (absent: this machine). */
  fleet: v.optional(FleetTarget)
})
export type CaptionJobRequest = v.InferOutput<typeof CaptionJobRequest>

export const JobStage = v.object({ name: v.string(), index: v.number(), count: v.number(), unit: v.picklist(['bytes', 'captions', 'items']) })

export const JobSummary = v.object({
  id: Id,
  kind: v.string(),
  state: JobState,
  total: v.number(),
  done: v.number(),
  failed: v.number(),
  pending: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
  error: v.nullable(v.string()),
  params: v.record(v.string(), v.unknown()),
  /** Staged jobs (pack builds): the current stage; total/done then count that stage's units. */
  stage: v.optional(JobStage)
})
export type JobSummary = v.InferOutput<typeof JobSummary>

export const JobFailure = v.object({ imageId: Id, relPath: v.string(), error: v.string(), attempts: v.number() })

export const jobs = {
  'jobs.list': op(Empty, v.array(JobSummary), 'All jobs, newest first'),
  'jobs.get': op(v.object({ jobId: Id }), v.object({ job: JobSummary, failures: v.array(JobFailure) }), 'One job with its failed items'),
  'jobs.startCaption': op(CaptionJobRequest, JobSummary, 'Queue a batch captioning job'),
  'jobs.pause': op(v.object({ jobId: Id }), JobSummary, 'Pause after the image in progress'),
  'jobs.resume': op(v.object({ jobId: Id }), JobSummary, 'Resume a paused (or cancelled) job at the next unfinished image'),
  'jobs.cancel': op(v.object({ jobId: Id }), JobSummary, 'Stop; finished images keep their results'),
  'jobs.retryFailed': op(v.object({ jobId: Id }), JobSummary, 'Queue the failed images of a job again'),
  'jobs.waitIdle': op(Empty, Ok, 'Resolve when no job is running (tests and the CLI)', 'internal')
} as const
