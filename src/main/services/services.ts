// Main process / serve / CLI (plain Node). [Note: one contract] Composes the handler factories of every
// domain into the one handler table that all three hosts dispatch through.
import { bundledPacksDir, photoVocabularyPath, shippedCatalogPath } from '../paths'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createCatalogService } from '../models/catalog-handlers'
import type { SystemInfo } from '@shared/contract/system'
import { createCaptionHandlers } from './captions-handlers'
import { createContext, type ServiceContext } from './context'
import { dispatch, type Handlers } from './dispatch'
import { createLibraryHandlers, ScanManager } from './library-handlers'
import type { ScanOptions } from '../library/scanner'
import { createJobHandlers } from './jobs-handlers'
import { createReviewHandlers } from './review-handlers'
import { createHealthHandlers } from './health-handlers'
import { createInteropHandlers } from './interop-handlers'
import { JobRunner, type BatchCaptioner, type Captioner, type CaptionOutcome } from '../jobs/runner'
import { createEngineService, type CaptionOutput } from './engine-handlers'
import { createAnalysis } from './analysis-handlers'
import { ReviewRepo } from '../store/review-repo'
import { toCaptionOutcome } from './candidates'
import { createSuggestHandlers } from './suggest-handlers'
import { resolveImageSync } from '../library/image-path'
import { EngineClient, type EngineCaller, type TransportFactory } from '../engine/client'
import type { RemoteBatches } from '../jobs/remote'
import * as v from 'valibot'
import { CaptionOptionsSchema } from '@shared/contract/engine'
import { StudioError } from '@shared/errors'
import { EmbeddingsRepo } from '../store/embeddings-repo'
import { LibrarySearch } from '../search/library-search'
import { createPhashSource } from '../search/phash-cache'
import { createIndexWorker, INDEX_KIND } from '../jobs/index-job'
import { createSearchHandlers } from './search-handlers'

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
  /** Engine transport (default: the engine process next to this bundle). */
  engine?: EngineCaller
  /** How the default engines (studio and pack builds) are started (default: a child process; Electron: its
   *  utility process, [Note: engine transports]). */
  engineTransport?: TransportFactory
  /** Answer engine.testFault (serve --test-ops only, [Note: engine faults]). */
  testFaults?: boolean
  /** Folder of bundled packs (default: the repository's models/). */
  bundledPacksDir?: string
  /** User catalog files given to this host (`--catalog FILE`). */
  catalogFiles?: readonly string[]
  /** Pack builds: engine factory (tests) and download tuning (tests shorten retries). */
  buildEngine?: () => EngineCaller
  download?: { retries?: number; idleTimeoutMs?: number; backoffMs?: number }
  /** Worker-fleet jobs: how often Redis is asked about chunks in flight (tests shorten it). */
  fleet?: { reconcileMs?: number }
  /** Scanner tuning (the import bench replays the previous path with it). */
  scan?: ScanOptions
}

/** Images per engine request in batch jobs: batched preprocessing and encoding, small enough that cancel
 *  and pause stay prompt (at most JOB_CHUNK − 1 captioned-but-unwritten images are redone). */
const JOB_CHUNK = 4

export function createServices(dataDir: string, host: SystemInfo['host'], opts: ServiceOptions = {}): Services {
  const ctx = createContext(dataDir, host)
  const scans = new ScanManager(ctx, opts.scan)
  const imagePath = (imageId: number): string => resolveImageSync(ctx.images, imageId)
  // The engine starts lazily on the first engine call, so hosts that never caption pay nothing.
  const transport = opts.engineTransport ? { transport: opts.engineTransport } : {}
  const client = opts.engine ?? new EngineClient(transport)
  // [Note: crash isolation] every client hears that the engine crashed and is being restarted
  client.onCrash?.((h) => ctx.emit({ type: 'engine.crashed', crashes: h.crashes, reason: h.lastCrash?.reason ?? 'unknown', restartInMs: h.restartInMs }))
  const embeddings = new EmbeddingsRepo(ctx.db)
  const search = new LibrarySearch(embeddings, createPhashSource({ repo: embeddings, images: ctx.images, imagePath, engine: client }))
  const engine = createEngineService({
    dataDir,
    imagePath,
    emit: ctx.emit,
    bundledPacksDir: opts.bundledPacksDir ?? bundledPacksDir(),
    engine: client,
    // [Note: embedding spaces] every caption keeps its image embedding in the pack's space
    onEmbedding: (imageId, space, vector) => search.keep(space, imageId, vector),
    ...(opts.testFaults ? { testFaults: true } : {})
  })
  const analysis = createAnalysis({ ctx, engine, client, imagePath })
  const reviewRepo = new ReviewRepo(ctx.db)
  // [Note: captioner seam] Batch jobs and captions.suggest both caption through the engine service's
  // methods, mapped to stored candidates by toNewCandidates.
  const toOutcome = (out: CaptionOutput): CaptionOutcome => toCaptionOutcome(out)
  const engineCaptioner: Captioner = async (imageId, options) => {
    await analysis.restore()
    return toOutcome(await engine.caption(imageId, options))
  }
  const engineBatch: BatchCaptioner = async (imageIds, options, signal) => {
    await analysis.restore()
    const out = await engine.captionMany(imageIds, options, signal)
    return out.map((r) => (r instanceof Error ? r : toOutcome(r)))
  }
  const catalogService = createCatalogService({
    ctx,
    shippedCatalog: shippedCatalogPath(),
    ...(opts.catalogFiles ? { catalogFiles: opts.catalogFiles } : {}),
    vocabFile: photoVocabularyPath(),
    packsDir: join(dataDir, 'packs'),
    installedPackIds: async () => new Set((await engine.listPacks()).packs.filter((p) => !p.problem).map((p) => p.id)),
    installed: async (packId, dir, activate) => {
      await engine.packChanged(dir)
      if (activate) await engine.activate(packId)
      else ctx.emit({ type: 'engine.changed', packId: null })
    },
    activePack: async () => {
      const l = await engine.listPacks()
      const p = l.packs.find((x) => x.id === l.activeId && !x.problem)
      return p ? { id: p.id, dir: p.dir } : null
    },
    demoPackDir: existsSync(join(opts.bundledPacksDir ?? bundledPacksDir(), 'shapes-demo', 'pack.json')) ? join(opts.bundledPacksDir ?? bundledPacksDir(), 'shapes-demo') : null,
    buildEngine: opts.buildEngine ?? (() => new EngineClient({ intraOpThreads: undefined, ...transport })),
    ...(opts.download ? { download: opts.download } : {})
  })
  // Batch jobs send JOB_CHUNK images per engine request (runner.ts, note "chunks"); a test's captioner
  // replaces both paths.
  const batch = opts.captioner ? (opts.batchCaptioner ?? null) : { caption: engineBatch, chunk: JOB_CHUNK }
  // [Note: remote jobs] the fleet's code (BullMQ, ioredis) loads on the first fleet job only
  let fleet: Promise<RemoteBatches> | null = null
  const remote: RemoteBatches = {
    async run(job) {
      fleet ??= import('../fleet/studio').then((m) =>
        m.createStudioFleet({
          ctx,
          activePackDir: async () => {
            const l = await engine.listPacks()
            const p = l.packs.find((x) => x.id === l.activeId && !x.problem)
            if (!p) throw new StudioError('not_found', 'no caption pack is installed: install one with models.install')
            return p.dir
          },
          pendingItems: (jobId, limit) => jobs.repo.nextPendingBatch(jobId, limit),
          isPending: (jobId, imageId) => jobs.repo.isPending(jobId, imageId),
          deliver: (jobId, imageId, outcome) => jobs.deliverRemote(jobId, imageId, outcome),
          jobOptions: (jobId) => {
            const o = v.safeParse(CaptionOptionsSchema, jobs.repo.summary(jobId)?.params.options ?? null)
            return o.success ? o.output : null
          },
          ...(opts.fleet?.reconcileMs ? { reconcileMs: opts.fleet.reconcileMs } : {})
        })
      )
      return (await fleet).run(job)
    },
    close: async () => (fleet ? (await fleet).close() : undefined)
  }
  const indexWorker = createIndexWorker({
    db: ctx.db,
    jobs: () => jobs.repo,
    spaceOf: async (packId) => engine.packSpace(packId),
    embed: (packId, ids, signal) => engine.embedImages(ids, signal, packId),
    keep: (space, imageId, vector) => search.keep(space, imageId, vector)
  })
  const jobs = new JobRunner(ctx, opts.captioner ?? engineCaptioner, (imageId, concepts) => reviewRepo.setConcepts(imageId, concepts), batch, remote, { [INDEX_KIND]: indexWorker })
  const interop = createInteropHandlers(ctx, scans)
  const handlers: Handlers = {
    'system.info': () => ({ host, version: VERSION, dataDir, platform: `${process.platform}-${process.arch}` }),
    ...createLibraryHandlers(ctx, scans),
    ...createCaptionHandlers(ctx),
    ...createJobHandlers(jobs, catalogService.builder),
    ...catalogService.handlers,
    ...createReviewHandlers(ctx),
    ...createHealthHandlers(ctx),
    ...interop.handlers,
    ...engine.handlers,
    ...analysis.handlers,
    ...createSuggestHandlers({ ctx, engine, reviewRepo, beforeEngine: analysis.restore }),
    ...createSearchHandlers({ ctx, engine, repo: embeddings, reviewRepo, search, jobs })
  }
  if (opts.resumeJobs !== false) {
    jobs.start()
    catalogService.builder.start()
  }
  return {
    ctx,
    handlers,
    scans,
    jobs,
    call: (name, input) => dispatch(handlers, name, input),
    async close() {
      analysis.dispose()
      await interop.close().catch(() => undefined)
      await catalogService.builder.close()
      await jobs.stop()
      await remote.close().catch(() => undefined)
      await scans.waitAll().catch(() => undefined)
      await client.dispose().catch(() => undefined)
      await ctx.checkpoints.stop()
      ctx.db.close()
    }
  }
}
