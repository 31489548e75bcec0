// Main process / serve / CLI (plain Node). Runs batch captioning jobs one at a time, item by item, off the
// persisted queue in SQLite. The captioning itself happens in the engine worker (the captioner is async),
// so the host's event loop only does small synchronous writes between images.
// [Note: jobs survive] Each image's candidates, optional auto-accept and the item's `done` state are written
// in ONE transaction: after a kill, an item is either fully done or still pending, never half-written.
// Cancel and pause abort the image in progress (it stays pending); finished images are kept.
import type { CaptionJobRequest, JobSummary } from '@shared/contract/jobs'
import { StudioError } from '@shared/errors'
import type { NewCandidate } from '../store/captions-repo'
import { JobsRepo } from '../store/jobs-repo'
import type { ServiceContext } from '../services/context'
import { RateMeter } from './rate'

export interface CaptionOutcome {
  /** Ranked best first; `scores.score` is the ranking score used for auto-accept. */
  candidates: NewCandidate[]
  /** Salient concepts (PCM-Net), stored as the image's concept tags in the same transaction. */
  concepts?: { word: string; prob: number }[]
  result?: Record<string, unknown>
}

export type Captioner = (imageId: number, options: Record<string, unknown>, signal: AbortSignal) => Promise<CaptionOutcome>

const EMIT_MS = 250

export class JobRunner {
  readonly repo: JobsRepo
  private loop: Promise<void> | null = null
  private current: { jobId: number; abort: AbortController } | null = null
  private idleWaiters: (() => void)[] = []
  private stopping = false

  constructor(
    private readonly ctx: ServiceContext,
    private readonly captioner: Captioner,
    private readonly storeConcepts: (imageId: number, concepts: { word: string; prob: number }[]) => void = () => undefined
  ) {
    this.repo = new JobsRepo(ctx.db)
  }

  /** Resume jobs left running by a previous process, and queued ones. */
  start(): void {
    if (this.repo.runnable().length > 0) this.kick()
  }

  resolveScope(req: CaptionJobRequest): number[] {
    const s = req.scope
    let ids: number[]
    if (s.kind === 'ids') ids = s.ids
    else if (s.kind === 'filter') ids = this.ctx.images.listIds(s.filter, '')
    else {
      if (!this.ctx.images.root(s.rootId)) throw new StudioError('not_found', `root ${s.rootId} not found`)
      ids = this.ctx.images.listIds('all', '').filter((id) => this.ctx.images.get(id)?.root_id === s.rootId)
    }
    const usable = ids.filter((id) => {
      const img = this.ctx.images.get(id)
      return img && !img.error && !img.missing && (!req.onlyUncaptioned || !this.ctx.captions.accepted(id))
    })
    return [...new Set(usable)]
  }

  enqueue(req: CaptionJobRequest): JobSummary {
    const ids = this.resolveScope(req)
    if (ids.length === 0) throw new StudioError('invalid_input', req.onlyUncaptioned ? 'nothing to caption: every image in scope already has an accepted caption' : 'no readable images in scope')
    const id = this.repo.create('caption', { options: req.options, autoAcceptAbove: req.autoAcceptAbove, onlyUncaptioned: req.onlyUncaptioned, scope: req.scope.kind }, ids)
    this.kick()
    return this.summary(id)
  }

  summary(jobId: number): JobSummary {
    const s = this.repo.summary(jobId)
    if (!s) throw new StudioError('not_found', `job ${jobId} not found`)
    return s
  }

  pause(jobId: number): JobSummary {
    const s = this.summary(jobId)
    if (s.state === 'running' || s.state === 'queued') {
      this.repo.setState(jobId, 'paused')
      if (this.current?.jobId === jobId) this.current.abort.abort()
    }
    return this.progress(jobId)
  }

  resume(jobId: number): JobSummary {
    const s = this.summary(jobId)
    if (s.state === 'paused' || s.state === 'cancelled' || s.state === 'failed') {
      this.repo.setState(jobId, 'queued')
      this.kick()
    }
    return this.progress(jobId)
  }

  cancel(jobId: number): JobSummary {
    const s = this.summary(jobId)
    if (s.state !== 'done' && s.state !== 'cancelled') {
      this.repo.setState(jobId, 'cancelled')
      if (this.current?.jobId === jobId) this.current.abort.abort()
    }
    return this.progress(jobId)
  }

  retryFailed(jobId: number): JobSummary {
    this.summary(jobId)
    if (this.repo.retryFailed(jobId) > 0) {
      this.repo.setState(jobId, 'queued')
      this.kick()
    }
    return this.progress(jobId)
  }

  waitIdle(): Promise<void> {
    if (!this.loop) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Stop the loop after the current image (used when the host shuts down). */
  async stop(): Promise<void> {
    this.stopping = true
    this.current?.abort.abort()
    await this.loop
  }

  private kick(): void {
    if (this.loop || this.stopping) return
    this.loop = this.runAll()
      .catch((err: unknown) => {
        process.stderr.write(`job runner stopped: ${(err as Error).stack ?? String(err)}\n`)
      })
      .finally(() => {
        this.loop = null
        if (this.repo.runnable().length > 0) return this.kick()
        for (const w of this.idleWaiters.splice(0)) w()
      })
  }

  private async runAll(): Promise<void> {
    for (;;) {
      const [next] = this.repo.runnable()
      if (next === undefined || this.stopping) return
      await this.runJob(next)
    }
  }

  private progress(jobId: number, meter?: RateMeter, current?: string): JobSummary {
    const s = this.summary(jobId)
    this.ctx.emit({
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
    })
    return s
  }

  private async runJob(jobId: number): Promise<void> {
    const job = this.summary(jobId)
    const options = (job.params.options ?? {}) as Record<string, unknown>
    const threshold = typeof job.params.autoAcceptAbove === 'number' ? job.params.autoAcceptAbove : null
    this.repo.setState(jobId, 'running')
    const meter = new RateMeter()
    let lastEmit = 0
    this.progress(jobId, meter)
    for (;;) {
      const state = this.repo.summary(jobId)?.state
      if (state !== 'running' || this.stopping) return void this.progress(jobId, meter)
      const item = this.repo.nextPending(jobId)
      if (!item) break
      const img = this.ctx.images.get(item.imageId)
      const abort = new AbortController()
      this.current = { jobId, abort }
      try {
        if (!img || img.missing || img.error) throw new StudioError('not_found', img ? (img.error ?? 'file is missing') : 'image was removed')
        const outcome = await this.captioner(item.imageId, options, abort.signal)
        if (abort.signal.aborted) continue
        const usable = outcome.candidates.filter((c) => c.text.trim().length > 0)
        if (usable.length === 0) throw new StudioError('model_error', 'the model produced no caption')
        const write = this.ctx.db.transaction(() => {
          const stored = this.ctx.captions.addCandidates(item.imageId, usable)
          if (outcome.concepts?.length) this.storeConcepts(item.imageId, outcome.concepts)
          const best = usable[0]!
          const bestScore = best.scores.score ?? best.scores.clipS
          let accepted = false
          if (threshold !== null && bestScore !== undefined && bestScore >= threshold && !this.ctx.captions.accepted(item.imageId)) {
            const cand = stored.find((c) => c.text === best.text.replace(/\s+/g, ' ').trim())
            if (cand) {
              this.ctx.captions.accept(item.imageId, cand.text, cand.source, cand.scores, cand.id)
              accepted = true
            }
          }
          this.repo.finishItem(jobId, item.imageId, 'done', null, { candidates: usable.length, accepted, ...(outcome.result ?? {}) })
        })
        write()
        this.ctx.emit({ type: 'captions.changed', imageId: item.imageId })
      } catch (err) {
        if (abort.signal.aborted) continue
        this.repo.finishItem(jobId, item.imageId, 'failed', (err as Error).message, undefined)
      } finally {
        this.current = null
      }
      meter.tick()
      const now = Date.now()
      if (now - lastEmit > EMIT_MS) {
        lastEmit = now
        this.progress(jobId, meter, img?.rel_path)
      }
    }
    const end = this.summary(jobId)
    if (end.state === 'running') this.repo.setState(jobId, 'done')
    this.progress(jobId, meter)
    this.ctx.emit({ type: 'library.changed' })
  }
}
