// Main process / serve / CLI (plain Node). The seam between the job runner and a place that captions a
// whole job elsewhere (the worker fleet, src/main/fleet/studio.ts). [Note: remote jobs] The runner keeps
// the job's state and items; the remote side dispatches pending items and hands every answer back through
// JobRunner.deliverRemote, which stores it once (the item must still be pending) in the same transaction
// as a local result. Nothing here loads the fleet's libraries: hosts that never use a fleet never load them.
import type { JobCaptionOptions } from './runner'

/** `AbortSignal.reason` of the runner's stop(): the host shuts down, so work handed out stays handed out. */
export const SHUTDOWN = 'shutdown'

export interface FleetParams {
  redis: string
  chunk?: number
  window?: number
}

export interface RemoteJob {
  jobId: number
  fleet: FleetParams
  options: JobCaptionOptions
  /** Aborted by pause and cancel (reason 'paused' / 'cancelled') or by the host's shutdown (SHUTDOWN). */
  signal: AbortSignal
}

export interface RemoteBatches {
  /** Run the job's pending items remotely until none is pending or the signal aborts. */
  run(job: RemoteJob): Promise<void>
  close(): Promise<void>
}
