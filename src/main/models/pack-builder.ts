// Main process / serve / CLI (plain Node). Builds a photo pack on the user's machine as a persistent job
// (kind `pack-build`): download → verify → stage pack → embed the corpus → concepts → datastore → install.
// [Note: staged jobs] The job row and its job_progress row live in SQLite; the work is checkpointed on disk
// by each stage (pack-build-stages.ts), so pause, cancel and a crash all keep finished work and a resume
// continues where it stopped. Inference runs in a build worker of its own (a second EngineClient), so
// captioning in the studio is not queued behind a build. [Note: atomic install] The finished pack is
// verified by opening it in the engine, then renamed into `<packs>/<id>`; it is activated only after that,
// and only when asked: a cancelled or failed build never leaves a half-installed or active pack.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JobSummary } from '@shared/contract/jobs'
import { StudioError } from '@shared/errors'
import type { EngineCaller } from '../engine/client'
import type { LoadedCatalogEntry } from '../engine/packs/catalog'
import { swapIn } from '../engine/packs/install'
import { RateMeter } from '../jobs/rate'
import type { ServiceContext } from '../services/context'
import { JobProgressRepo, type StageProgress } from '../store/job-progress-repo'
import { JobsRepo } from '../store/jobs-repo'
import { fetchEntry } from './fetch-entry'
import { assemblePhotoPack } from './photo-pack'
import { buildPaths, photoPackId } from './pack-build-stages'

export interface PackBuildRequest {
  clipId: string
  corpusId: string
  maxCaptions?: number
  activate?: boolean
}

export interface PackBuilderDeps {
  ctx: ServiceContext
  entries(): Promise<LoadedCatalogEntry[]>
  packsDir: string
  /** The concept vocabulary (models/vocab/photo-concepts.json). */
  vocabFile: string
  /** A fresh engine client for a build (its own worker), disposed when the build stops. */
  engine(): EngineCaller
  /** Called after a pack was installed (the engine service drops its memo; activates when asked). */
  installed(packId: string, dir: string, activate: boolean): Promise<void>
  download?: { retries?: number; idleTimeoutMs?: number; backoffMs?: number }
}

const STAGES = ['download model', 'download corpus', 'embed captions', 'concepts', 'datastore', 'install'] as const
const KIND = 'pack-build'
const EMIT_MS = 250

export class PackBuilder {
  private readonly jobs: JobsRepo
  private readonly progressRepo: JobProgressRepo
  private loop: Promise<void> | null = null
  private current: { jobId: number; abort: AbortController } | null = null
  private stopping = false

  constructor(private readonly deps: PackBuilderDeps) {
    this.jobs = new JobsRepo(deps.ctx.db)
    this.progressRepo = new JobProgressRepo(deps.ctx.db)
  }

  private get buildsDir(): string {
    return join(this.deps.ctx.dataDir, 'builds')
  }

  async enqueue(req: PackBuildRequest): Promise<JobSummary> {
    const entries = await this.deps.entries()
    const clip = entries.find((e) => e.id === req.clipId && e.kind === 'clip')
    const corpus = entries.find((e) => e.id === req.corpusId && e.kind === 'corpus')
    if (!clip) throw new StudioError('not_found', `no CLIP entry "${req.clipId}" in the catalogs`)
    if (!corpus) throw new StudioError('not_found', `no corpus entry "${req.corpusId}" in the catalogs`)
    const running = this.jobs.runnable(KIND).map((id) => this.jobs.summary(id)!).find((j) => j.params.clipId === req.clipId)
    if (running) throw new StudioError('conflict', `a build of ${photoPackId(clip)} is already queued or running (job ${running.id})`)
    const id = this.deps.ctx.db.transaction(() => {
      const jobId = this.jobs.create(KIND, { ...req, packId: photoPackId(clip) }, [])
      this.progressRepo.set(jobId, { stage: STAGES[0], index: 0, count: STAGES.length, unit: 'bytes', done: 0, total: 0, detail: {} })
      return jobId
    })()
    this.kick()
    return this.emit(id)
  }

  owns(jobId: number): boolean {
    return this.jobs.summary(jobId)?.kind === KIND
  }

  start(): void {
    if (this.jobs.runnable(KIND).length > 0) this.kick()
  }

  pause(jobId: number): JobSummary {
    return this.stop(jobId, 'paused')
  }

  cancel(jobId: number): JobSummary {
    return this.stop(jobId, 'cancelled')
  }

  resume(jobId: number): JobSummary {
    const s = this.summary(jobId)
    if (s.state === 'paused' || s.state === 'cancelled' || s.state === 'failed') {
      this.jobs.setState(jobId, 'queued')
      this.kick()
    }
    return this.emit(jobId)
  }

  async close(): Promise<void> {
    this.stopping = true
    this.current?.abort.abort()
    await this.loop
  }

  waitIdle(): Promise<void> {
    return this.loop ?? Promise.resolve()
  }

  private summary(jobId: number): JobSummary {
    const s = this.jobs.summary(jobId)
    if (!s || s.kind !== KIND) throw new StudioError('not_found', `pack build ${jobId} not found`)
    return s
  }

  private stop(jobId: number, state: 'paused' | 'cancelled'): JobSummary {
    const s = this.summary(jobId)
    if (s.state === 'running' || s.state === 'queued' || (state === 'cancelled' && s.state === 'paused')) {
      this.jobs.setState(jobId, state)
      if (this.current?.jobId === jobId) this.current.abort.abort()
    }
    return this.emit(jobId)
  }

  private emit(jobId: number, meter?: RateMeter, current?: string): JobSummary {
    const s = this.summary(jobId)
    this.deps.ctx.emit({
      type: 'job.progress',
      jobId,
      kind: KIND,
      state: s.state,
      done: s.done,
      failed: 0,
      total: s.total,
      ratePerSec: meter?.perSecond() ?? 0,
      etaSec: meter && s.total > s.done ? meter.etaSeconds(s.total - s.done) : null,
      ...(current ? { current } : {}),
      ...(s.stage ? { stage: s.stage } : {})
    })
    return s
  }

  private kick(): void {
    if (this.loop || this.stopping) return
    this.loop = (async () => {
      for (;;) {
        const [next] = this.jobs.runnable(KIND)
        if (next === undefined || this.stopping) return
        await this.run(next)
      }
    })()
      .catch((err: unknown) => {
        process.stderr.write(`pack builder stopped: ${(err as Error).stack ?? String(err)}\n`)
      })
      .finally(() => {
        this.loop = null
      })
  }

  private async run(jobId: number): Promise<void> {
    const job = this.summary(jobId)
    const req = job.params as unknown as PackBuildRequest
    const abort = new AbortController()
    this.current = { jobId, abort }
    this.jobs.setState(jobId, 'running')
    const engine = this.deps.engine()
    try {
      await this.stages(jobId, req, engine, abort.signal)
      this.jobs.setState(jobId, 'done')
    } catch (err) {
      const state = this.jobs.summary(jobId)?.state
      if (abort.signal.aborted || (err instanceof StudioError && err.code === 'cancelled')) {
        if (state === 'running') this.jobs.setState(jobId, this.stopping ? 'running' : 'paused')
      } else {
        this.jobs.setState(jobId, 'failed', (err as Error).message)
      }
    } finally {
      this.current = null
      await engine.dispose().catch(() => undefined)
    }
    this.emit(jobId)
  }

  private async stages(jobId: number, req: PackBuildRequest, engine: EngineCaller, signal: AbortSignal): Promise<void> {
    const entries = await this.deps.entries()
    const clip = entries.find((e) => e.id === req.clipId)
    const corpus = entries.find((e) => e.id === req.corpusId)
    if (!clip || !corpus) throw new StudioError('not_found', `catalog entry ${!clip ? req.clipId : req.corpusId} is no longer in the catalogs`)
    const paths = buildPaths(this.buildsDir, jobId)
    await mkdir(paths.work, { recursive: true })
    const downloads = join(this.deps.ctx.dataDir, 'downloads')
    let meter = new RateMeter()
    let lastEmit = 0
    let lastDone = 0
    const step = (index: number, unit: StageProgress['unit']) => (done: number, total: number, current?: string) => {
      const prev = this.progressRepo.get(jobId)
      if (prev?.index !== index) {
        meter = new RateMeter()
        lastDone = done
      }
      this.progressRepo.set(jobId, { stage: STAGES[index]!, index, count: STAGES.length, unit, done, total, detail: prev?.detail ?? {} })
      const now = Date.now()
      if (now - lastEmit >= EMIT_MS || done >= total) {
        // rate in units per second: the meter ticks once per unit-chunk
        if (done > lastDone) {
          meter.tickUnits(done - lastDone)
          lastDone = done
        }
        lastEmit = now
        this.emit(jobId, meter, current)
      }
    }
    const dl = { signal, env: process.env, ...(this.deps.download ? { download: this.deps.download } : {}) }
    const s0 = step(0, 'bytes')
    s0(0, 0, `Downloading ${clip.title}`)
    const clipDir = await fetchEntry(clip, downloads, { ...dl, onProgress: (p) => s0(p.received, p.total ?? p.received, `Downloading ${p.file}`) })
    const s1 = step(1, 'bytes')
    s1(0, 0, `Downloading ${corpus.title}`)
    const corpusDir = await fetchEntry(corpus, downloads, { ...dl, onProgress: (p) => s1(p.received, p.total ?? p.received, `Downloading ${p.file}`) })
    const corpusFile = join(corpusDir, corpus.files.find((f) => f.role === 'corpus')!.path)
    const pack = await assemblePhotoPack({ clip, clipDir, corpus, corpusFile, paths, engine, vocabFile: this.deps.vocabFile, ...(req.maxCaptions ? { maxCaptions: req.maxCaptions } : {}), signal }, {
      embed: step(2, 'captions'),
      concepts: step(3, 'items'),
      datastore: step(4, 'items'),
      install: step(5, 'items')
    })
    const s5 = step(5, 'items')
    await writeFile(join(paths.stagePack, 'pack.json'), JSON.stringify(pack, null, 2))
    // the engine verifies every sha256 and checks every model's I/O against pack.json before we install
    await engine.call('open', { packDir: paths.stagePack })
    await engine.call('close', {})
    for (const junk of ['config.json']) if (!pack.files.some((f) => f.path === junk)) await rm(join(paths.stagePack, junk), { force: true })
    const target = join(this.deps.packsDir, pack.id)
    await mkdir(this.deps.packsDir, { recursive: true })
    const staging = join(this.deps.packsDir, '.staging', `${pack.id}@build-${jobId}`)
    await rm(staging, { recursive: true, force: true })
    await mkdir(join(this.deps.packsDir, '.staging'), { recursive: true })
    await rename(paths.stagePack, staging)
    await swapIn(staging, target)
    s5(1, 1)
    await this.deps.installed(pack.id, target, req.activate ?? false)
    await rm(paths.work, { recursive: true, force: true })
  }
}
