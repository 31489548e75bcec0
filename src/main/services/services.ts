// Main process / serve / CLI (plain Node). [Note: one contract] Composes the handler factories of every
// domain into the one handler table that all three hosts dispatch through.
import { bundledPacksDir } from '../paths'
import type { SystemInfo } from '@shared/contract/system'
import { createCaptionHandlers } from './captions-handlers'
import { createContext, type ServiceContext } from './context'
import { dispatch, type Handlers } from './dispatch'
import { createLibraryHandlers, ScanManager } from './library-handlers'
import { createJobHandlers } from './jobs-handlers'
import { createReviewHandlers } from './review-handlers'
import { createInteropHandlers } from './interop-handlers'
import { JobRunner, type BatchCaptioner, type Captioner, type CaptionOutcome } from '../jobs/runner'
import { StudioError } from '@shared/errors'
import { createEngineService } from './engine-handlers'
import type { CaptionOutput } from '@shared/contract/engine'
import { createAnalysis } from './analysis-handlers'
import { ReviewRepo } from '../store/review-repo'
import { toNewCandidates } from './candidates'
import { resolveUnderRootSync } from '../library/safe-path'
import { EngineClient, type EngineCaller } from '../engine/client'

export const VERSION = '0.1.0'

export interface Services {
  ctx: ServiceContext
  handlers: Handlers
  scans: ScanManager
  jobs: JobRunner
  call(name: string, input: unknown): Promise<unknown>
  close(): Promise<void>
}

export interface ServiceOptions {
  /** Replaces the engine-backed captioner (tests of the job machinery only). */
  captioner?: Captioner
  /** With `captioner`: also replaces the engine-backed batch path (tests of chunked jobs only). */
  batchCaptioner?: { caption: BatchCaptioner; chunk: number }
  /** Resume interrupted jobs at start (hosts: yes; one-shot CLI commands: no). */
  resumeJobs?: boolean
  /** Engine transport (default: the engine worker next to this bundle). */
  engine?: EngineCaller
  /** Folder of bundled packs (default: the repository's models/). */
  bundledPacksDir?: string
}

/** Images per engine request in batch jobs: batched preprocessing and encoding, small enough that cancel
 *  and pause stay prompt (at most JOB_CHUNK − 1 captioned-but-unwritten images are redone). */
const JOB_CHUNK = 4

export function createServices(dataDir: string, host: SystemInfo['host'], opts: ServiceOptions = {}): Services {
  const ctx = createContext(dataDir, host)
  const scans = new ScanManager(ctx)
  const imagePath = (imageId: number): string => {
    const img = ctx.images.get(imageId)
    const root = img ? ctx.images.root(img.root_id) : undefined
    if (!img || !root || root.removed_at) throw new StudioError('not_found', `image ${imageId} not found`)
    const real = resolveUnderRootSync(root.path, img.rel_path)
    if (!real) throw new StudioError('not_found', `image ${imageId} is missing or outside its library root`)
    return real
  }
  // The worker is spawned lazily on the first engine call, so hosts that never caption pay nothing.
  const engine = opts.engine ?? new EngineClient()
  const engineService = createEngineService({
    dataDir,
    imagePath,
    emit: ctx.emit,
    bundledPacksDir: opts.bundledPacksDir ?? bundledPacksDir(),
    engine
  })
  const engineHandlers = engineService.handlers
  // [Note: captioner seam] Batch jobs and the image view's suggestions share one path: the engine's
  // `engine.caption` handler (in the worker), mapped to stored candidates by toNewCandidates.
  const analysis = createAnalysis({ ctx, engine, engineHandlers, imagePath })
  const engineCaptioner: Captioner = async (imageId, options) => {
    await analysis.restore()
    return toOutcome(await engineHandlers['engine.caption']({ imageId, options }))
  }
  const toOutcome = (out: CaptionOutput): CaptionOutcome => ({
    candidates: toNewCandidates(out),
    concepts: out.concepts.map((c) => ({ word: c.word, prob: c.prob })),
    result: { packId: out.packId, ms: Math.round(out.timings.total ?? 0) }
  })
  const engineBatch: BatchCaptioner = async (imageIds, options, signal) => {
    await analysis.restore()
    const out = await engineService.captionMany(imageIds, options, signal)
    return out.map((r) => (r instanceof Error ? r : toOutcome(r)))
  }
  const reviewRepo = new ReviewRepo(ctx.db)
  // Batch jobs send JOB_CHUNK images per engine request (runner.ts, note "chunks"); a test's captioner
  // replaces both paths.
  const batch = opts.captioner ? (opts.batchCaptioner ?? null) : { caption: engineBatch, chunk: JOB_CHUNK }
  const jobs = new JobRunner(ctx, opts.captioner ?? engineCaptioner, (imageId, concepts) => reviewRepo.setConcepts(imageId, concepts), batch)
  const handlers: Handlers = {
    'system.info': () => ({ host, version: VERSION, dataDir, platform: `${process.platform}-${process.arch}` }),
    ...createLibraryHandlers(ctx, scans),
    ...createCaptionHandlers(ctx),
    ...createJobHandlers(jobs),
    ...createReviewHandlers(ctx),
    ...createInteropHandlers(ctx, scans),
    ...engineHandlers,
    ...analysis.handlers,
    'captions.suggest': async ({ imageId, options }) => {
      if (!ctx.images.get(imageId)) throw new StudioError('not_found', `image ${imageId} not found`)
      await analysis.restore()
      const result = await engineHandlers['engine.caption']({ imageId, options })
      const stored = ctx.db.transaction(() => {
        const rows = ctx.captions.addCandidates(imageId, toNewCandidates(result))
        if (result.concepts.length) reviewRepo.setConcepts(imageId, result.concepts)
        return rows
      })()
      ctx.emit({ type: 'captions.changed', imageId })
      const open = ctx.captions.forImage(imageId).candidates
      return { candidates: open.length ? open : stored, result }
    }
  }
  if (opts.resumeJobs !== false) jobs.start()
  return {
    ctx,
    handlers,
    scans,
    jobs,
    call: (name, input) => dispatch(handlers, name, input),
    async close() {
      analysis.dispose()
      await jobs.stop()
      await scans.waitAll().catch(() => undefined)
      await engine.dispose().catch(() => undefined)
      ctx.db.close()
    }
  }
}
