// Shared by every process: events pushed from the services to every client (IPC send or SSE).
import * as v from 'valibot'
import { JobStage } from './jobs'

export const ScanEvent = v.object({
  type: v.literal('library.scan'),
  rootId: v.number(),
  /** walking: rows are being written; thumbnails: every row is there, thumbnails are still being made. */
  phase: v.picklist(['walking', 'thumbnails', 'done', 'failed']),
  seen: v.number(),
  added: v.number(),
  errors: v.number(),
  currentPath: v.optional(v.string()),
  message: v.optional(v.string()),
  /** Thumbnails of this scan still queued or in progress. */
  pending: v.optional(v.number())
})

export const LibraryChangedEvent = v.object({ type: v.literal('library.changed') })
export const CaptionChangedEvent = v.object({ type: v.literal('captions.changed'), imageId: v.number() })

export const JobProgressEvent = v.object({
  type: v.literal('job.progress'),
  jobId: v.number(),
  kind: v.string(),
  state: v.picklist(['queued', 'running', 'paused', 'done', 'cancelled', 'failed']),
  done: v.number(),
  failed: v.number(),
  total: v.number(),
  ratePerSec: v.number(),
  etaSec: v.nullable(v.number()),
  current: v.optional(v.string()),
  /** Staged jobs (pack builds): which stage the counts belong to. */
  stage: v.optional(JobStage)
})

/** Progress of `models.install` (engine domain). */
export const ModelInstallEvent = v.object({
  type: v.literal('models.install'),
  source: v.string(),
  packId: v.string(),
  phase: v.picklist(['fetching', 'copying', 'verifying', 'done', 'failed']),
  file: v.optional(v.string()),
  received: v.number(),
  total: v.number(),
  message: v.optional(v.string())
})

/** The active caption pack changed (engine domain). */
export const EngineChangedEvent = v.object({ type: v.literal('engine.changed'), packId: v.nullable(v.string()) })

/** The engine process crashed or stopped answering and is being restarted (engine domain, [Note: crash
 *  isolation]); engine.status has the details. */
export const EngineCrashedEvent = v.object({ type: v.literal('engine.crashed'), crashes: v.number(), reason: v.string(), restartInMs: v.number() })

/** Sidecars changed by another program whose re-import would change something (interop domain). */
export const SidecarOffersEvent = v.object({ type: v.literal('interop.sidecars'), offers: v.number() })

export const StudioEvent = v.variant('type', [ScanEvent, LibraryChangedEvent, CaptionChangedEvent, JobProgressEvent, ModelInstallEvent, EngineChangedEvent, EngineCrashedEvent, SidecarOffersEvent])
export type StudioEvent = v.InferOutput<typeof StudioEvent>
