// Main process (plain Node). A running item job's counts, kept in memory while its loop runs.
// [Note: counted progress] The job's progress event was built from JobsRepo.summary(), a count over all of
// the job's items, every 250 ms: 8–13 ms on the host thread for a 5,000-image job while the engine kept the
// cores busy. The loop that finishes the items knows each outcome, so it counts them itself: one summary
// when the loop starts, then a tally per finished item. Other callers (list, pause, resume) still read the
// store, which stays the truth.
import type { StudioEvent } from '@shared/contract/events'
import type { JobSummary } from '@shared/contract/jobs'
import type { RateMeter } from './rate'

export type JobCounts = Pick<JobSummary, 'kind' | 'state' | 'done' | 'failed' | 'total' | 'pending'>

export class JobTally {
  private constructor(
    readonly total: number,
    public done: number,
    public failed: number,
    public pending: number
  ) {}

  static of(s: Pick<JobSummary, 'total' | 'done' | 'failed' | 'pending'>): JobTally {
    return new JobTally(s.total, s.done, s.failed, s.pending)
  }

  /** One pending item finished (`skipped` counts as done, as the store's summary counts it). */
  finished(state: 'done' | 'failed' | 'skipped'): void {
    if (this.pending <= 0) return
    this.pending--
    if (state === 'failed') this.failed++
    else this.done++
  }
}

/** The job.progress event for these counts, with rate and ETA from the meter when there is one. */
export function progressEvent(jobId: number, s: JobCounts, meter?: RateMeter, current?: string): StudioEvent {
  return {
    type: 'job.progress',
    jobId,
    kind: s.kind,
    state: s.state,
    done: s.done,
    failed: s.failed,
    total: s.total,
    ratePerSec: meter?.perSecond() ?? 0,
    etaSec: meter?.etaSeconds(s.pending) ?? null,
    ...(current ? { current } : {})
  }
}
