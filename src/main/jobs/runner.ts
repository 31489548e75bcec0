// Main process / serve / CLI (plain Node). Runs batch captioning jobs one at a time, item by item, off the
// persisted queue in SQLite. The captioning itself happens in the engine worker (the captioner is async),
// so the host's event loop only does small synchronous writes between images.
// [Note: jobs survive] Each image's candidates, optional auto-accept and the item's `done` state are written
// in ONE transaction: after a kill, an item is either fully done or still pending, never half-written.
// Cancel and pause abort the image in progress (it stays pending); finished images are kept.
// [Note: chunks] With a batch captioner the runner takes up to `chunk` pending images per engine request, so
// the worker preprocesses them together and runs the image encoder once for all (bench: the studio batch
// was half as fast as in-process captioning when it sent one image per request). Each image is still written
// in its own transaction; cancel or pause drop the unwritten rest of the chunk, which stays pending.
// [Note: remote jobs] A job queued with `fleet` runs on the worker fleet instead (remote.ts): the items stay
// here, answers come back through deliverRemote, progress and ETA are counted from them as for local jobs.
import * as v from 'valibot'
import { describeIssues } from '@shared/contract/define'
import { CaptionOptionsSchema } from '@shared/contract/engine'
import type { CaptionJobRequest, JobSummary } from '@shared/contract/jobs'
import { isBlankCaption, normalizeCaption } from '@shared/caption-text'
import { StudioError } from '@shared/errors'
import type { NewCandidate } from '../store/captions-repo'
import { JobsRepo } from '../store/jobs-repo'
import type { ServiceContext } from '../services/context'
import { RateMeter } from './rate'
import { JobTally, progressEvent, type JobCounts } from './tally'
import { resolveScope } from './scope'
import { SHUTDOWN, type FleetParams, type RemoteBatches } from './remote'
import { parseRedisUrl } from '../fleet/redis-url'

export interface CaptionOutcome {
  /** Ranked best first; `scores.score` is the ranking score used for auto-accept. */
  candidates: NewCandidate[]
  /** Salient concepts (PCM-Net), stored as the image's concept tags in the same transaction. */
  concepts?: { word: string; prob: number }[]
  result?: Record<string, unknown>
}

/** Engine options of a job: what the contract's CaptionOptionsSchema parses (captions.suggest's too). */
export type JobCaptionOptions = v.InferOutput<typeof CaptionOptionsSchema>

export type Captioner = (imageId: number, options: JobCaptionOptions, signal: AbortSignal) => Promise<CaptionOutcome>
/** Several images in one request: one outcome or error per image, in input order. */
export type BatchCaptioner = (imageIds: number[], options: JobCaptionOptions, signal: AbortSignal) => Promise<(CaptionOutcome | Error)[]>

/** [Note: item jobs] A job kind other than captioning that works image by image (the "index library" job,
 *  index-job.ts): the same loop, pause, cancel (finished items kept), resume and progress as a caption job. */
export interface ItemWorker<T = unknown> {
  chunk: number
  /** Refuse to run (the job fails with this message), e.g. the pack changed version since it was queued. */
  check?(job: JobSummary): string | null
  run(job: JobSummary, imageIds: number[], signal: AbortSignal): Promise<(T | Error)[]>
  /** Store one image's result and finish its item (repo.finishItem) in one transaction. */
  store(job: JobSummary, imageId: number, out: T): void
}

const EMIT_MS = 250

interface InflightChunk<T> {
  ready: { imageId: number; rel: string | undefined }[]
  abort: AbortController
  outcomes: Promise<(T | Error)[]>
}

export class JobRunner {
  readonly repo: JobsRepo
  private loop: Promise<void> | null = null
  private current: { jobId: number; abort: AbortController } | null = null
  private idleWaiters: (() => void)[] = []
  private stopping = false
  /** The remote job running now: its meter, and when progress was last emitted. */
  private remoteRun: { jobId: number; meter: RateMeter; lastEmit: number } | null = null
  private readonly thresholds = new Map<number, number | null>()

  constructor(
    private readonly ctx: ServiceContext,
    private readonly captioner: Captioner,
    private readonly storeConcepts: (imageId: number, concepts: { word: string; prob: number }[]) => void = () => undefined,
    private readonly batch: { caption: BatchCaptioner; chunk: number } | null = null,
    private readonly remote: RemoteBatches | null = null,
    private readonly workers: Record<string, ItemWorker> = {}
  ) {
    this.repo = new JobsRepo(ctx.db)
  }

  /** Resume jobs left running by a previous process, and queued ones. */
  start(): void {
    if (this.runnable().length > 0) this.kick()
  }

  resolveScope(req: CaptionJobRequest): number[] {
    return resolveScope(this.ctx, req)
  }

  enqueue(req: CaptionJobRequest): JobSummary {
    const ids = this.resolveScope(req)
    if (ids.length === 0) throw new StudioError('invalid_input', req.onlyUncaptioned ? 'nothing to caption: every image in scope already has an accepted caption' : 'no readable images in scope')
    if (req.fleet && !this.remote) throw new StudioError('unsupported', 'this host cannot send batches to a worker fleet')
    if (req.fleet) parseRedisUrl(req.fleet.redis)
    const params = { options: req.options, autoAcceptAbove: req.autoAcceptAbove, onlyUncaptioned: req.onlyUncaptioned, scope: req.scope.kind, ...(req.fleet ? { fleet: req.fleet } : {}) }
    const id = this.repo.create('caption', params, ids)
    this.kick()
    return this.summary(id)
  }

  /** Caption jobs first, then the item-worker kinds', each oldest first (running before queued). */
  private runnable(): number[] {
    return [this.repo.runnable('caption'), ...Object.keys(this.workers).map((k) => this.repo.runnable(k))].flat()
  }

  /** Queue a job of an ItemWorker kind over these images. */
  enqueueItems(kind: string, params: Record<string, unknown>, ids: number[]): JobSummary {
    if (!this.workers[kind]) throw new StudioError('unsupported', `this host runs no "${kind}" jobs`)
    const id = this.repo.create(kind, params, ids)
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
      if (this.current?.jobId === jobId) this.current.abort.abort('paused')
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
      if (this.current?.jobId === jobId) this.current.abort.abort('cancelled')
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
    this.current?.abort.abort(SHUTDOWN)
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
        if (this.runnable().length > 0) return this.kick()
        for (const w of this.idleWaiters.splice(0)) w()
      })
  }

  private async runAll(): Promise<void> {
    for (;;) {
      const [next] = this.runnable()
      if (next === undefined || this.stopping) return
      await this.runJob(next)
    }
  }

  private progress(jobId: number, meter?: RateMeter, current?: string): JobSummary {
    const s = this.summary(jobId)
    this.ctx.emit(progressEvent(jobId, s, meter, current))
    return s
  }

  /** [Note: counted progress] While a job's loop runs, its progress comes from the loop's own tally. */
  private progressCounted(jobId: number, kind: string, tally: JobTally, meter: RateMeter, current?: string): void {
    const counts: JobCounts = { kind, state: this.repo.state(jobId) ?? 'failed', done: tally.done, failed: tally.failed, total: tally.total, pending: tally.pending }
    this.ctx.emit(progressEvent(jobId, counts, meter, current))
  }

  private async runJob(jobId: number): Promise<void> {
    const job = this.summary(jobId)
    const worker = this.workers[job.kind]
    if (worker) {
      const refused = worker.check?.(job) ?? null
      if (refused) {
        this.repo.setState(jobId, 'failed', refused)
        return void this.progress(jobId)
      }
      return this.runLocal(jobId, worker.chunk, (ids, signal) => worker.run(job, ids, signal), (imageId, out) => worker.store(job, imageId, out))
    }
    // The options were validated when the job was queued; a row written by an older version (or edited by
    // hand) is checked again, and a job whose options no longer parse fails with the reason.
    const parsed = v.safeParse(CaptionOptionsSchema, job.params.options ?? {})
    if (!parsed.success) {
      this.repo.setState(jobId, 'failed', `the job's caption options are invalid: ${describeIssues(parsed.issues)}`)
      return void this.progress(jobId)
    }
    const options = parsed.output
    const threshold = typeof job.params.autoAcceptAbove === 'number' ? job.params.autoAcceptAbove : null
    this.thresholds.set(jobId, threshold)
    const fleet = job.params.fleet as FleetParams | undefined
    if (fleet && this.remote) return this.runRemote(jobId, fleet, options)
    return this.runLocal(
      jobId,
      this.batch?.chunk ?? 1,
      (ids, signal) => this.captionChunk(ids, options, signal),
      (imageId, outcome) => {
        this.store(jobId, imageId, outcome, threshold)
        this.ctx.emit({ type: 'captions.changed', imageId })
      }
    )
  }

  /** The local loop of every item job: chunks of pending items, each result stored by `store` (which finishes
   *  its item), pause and cancel between chunks, progress at most every EMIT_MS.
   *  [Note: pipelined chunks] The next chunk goes to the engine before this chunk's results are written, so the
   *  engine captions while the main thread stores (it idled during the writes: the studio batch ran at 0.80× of
   *  in-process captioning). Pause and cancel abort only the chunk in flight; the chunk being written already
   *  has its outcomes. At most one chunk is in flight, so the engine's queue never grows. */
  private async runLocal<T>(jobId: number, chunk: number, work: (ids: number[], signal: AbortSignal) => Promise<(T | Error)[]>, store: (imageId: number, out: T) => void): Promise<void> {
    this.repo.setState(jobId, 'running')
    const meter = new RateMeter()
    let lastEmit = 0
    const { kind, ...counts } = this.progress(jobId, meter)
    const tally = JobTally.of(counts)
    let inflight = this.startChunk(jobId, chunk, work, meter, tally, new Set())
    while (inflight) {
      const cur: InflightChunk<T> = inflight
      const outcomes = await cur.outcomes
      if (this.current?.abort === cur.abort) this.current = null
      if (cur.abort.signal.aborted) {
        inflight = this.startChunk(jobId, chunk, work, meter, tally, new Set())
        continue
      }
      inflight = this.startChunk(jobId, chunk, work, meter, tally, new Set(cur.ready.map((r) => r.imageId)))
      for (const [i, r] of cur.ready.entries()) {
        // one image's writes at a time, yielding in between so requests and events are not held up by a chunk
        if (i > 0) await new Promise((resolve) => setImmediate(resolve))
        const outcome = outcomes[i] ?? new StudioError('internal', 'no outcome for this image')
        try {
          if (outcome instanceof Error) throw outcome
          store(r.imageId, outcome)
          tally.finished('done')
        } catch (err) {
          this.repo.finishItem(jobId, r.imageId, 'failed', (err as Error).message, undefined)
          tally.finished('failed')
        }
        meter.tick()
      }
      const now = Date.now()
      if (now - lastEmit > EMIT_MS) {
        lastEmit = now
        this.progressCounted(jobId, kind, tally, meter, cur.ready[cur.ready.length - 1]?.rel)
      }
    }
    const end = this.summary(jobId)
    if (end.state !== 'running' || this.stopping) return void this.progress(jobId, meter)
    this.repo.setState(jobId, 'done')
    this.progress(jobId, meter)
    this.ctx.emit({ type: 'library.changed' })
  }

  /** Send the next chunk of pending items (those in `exclude` are being written) to `work`; null when the job
   *  is no longer running or nothing else is pending. Items whose image is gone fail here. */
  private startChunk<T>(jobId: number, chunk: number, work: (ids: number[], signal: AbortSignal) => Promise<(T | Error)[]>, meter: RateMeter, tally: JobTally, exclude: ReadonlySet<number>): InflightChunk<T> | null {
    for (;;) {
      const state = this.repo.state(jobId) // not summary(): that counts all the job's items, once per chunk
      if (state !== 'running' || this.stopping) return null
      const items = this.repo.nextPendingBatch(jobId, chunk + exclude.size).filter((it) => !exclude.has(it.imageId)).slice(0, chunk)
      if (items.length === 0) return null
      const ready: { imageId: number; rel: string | undefined }[] = []
      for (const item of items) {
        const img = this.ctx.images.get(item.imageId)
        if (!img || img.missing || img.error) {
          this.repo.finishItem(jobId, item.imageId, 'failed', img ? (img.error ?? 'file is missing') : 'image was removed', undefined)
          tally.finished('failed')
          meter.tick()
        } else ready.push({ imageId: item.imageId, rel: img.rel_path })
      }
      if (ready.length === 0) continue
      const abort = new AbortController()
      this.current = { jobId, abort }
      const outcomes = work(ready.map((r) => r.imageId), abort.signal).catch((err: unknown) => ready.map(() => err as Error))
      return { ready, abort, outcomes }
    }
  }

  /** [Note: remote jobs] The remote side dispatches and answers; the job is done when nothing is pending. */
  private async runRemote(jobId: number, fleet: FleetParams, options: JobCaptionOptions): Promise<void> {
    this.repo.setState(jobId, 'running')
    const meter = new RateMeter()
    this.remoteRun = { jobId, meter, lastEmit: 0 }
    this.progress(jobId, meter)
    const abort = new AbortController()
    this.current = { jobId, abort }
    try {
      await this.remote!.run({ jobId, fleet, options, signal: abort.signal })
    } catch (err) {
      if (this.repo.summary(jobId)?.state === 'running') this.repo.setState(jobId, 'failed', `fleet: ${(err as Error).message}`)
    } finally {
      this.current = null
      this.remoteRun = null
    }
    const end = this.summary(jobId)
    if (end.state === 'running' && !this.stopping) {
      if (end.pending === 0) this.repo.setState(jobId, 'done')
      else this.repo.setState(jobId, 'failed', 'the connection to the fleet closed before the job finished')
    }
    this.progress(jobId, meter)
    this.ctx.emit({ type: 'library.changed' })
  }

  /** [Note: remote jobs] One image's answer from elsewhere, stored only while its item is pending, so an
   *  answer delivered twice is stored once. Returns whether it was stored (or recorded as a failure). */
  deliverRemote(jobId: number, imageId: number, outcome: CaptionOutcome | Error): boolean {
    if (!this.repo.isPending(jobId, imageId)) return false
    try {
      if (outcome instanceof Error) throw outcome
      this.store(jobId, imageId, outcome, this.thresholdOf(jobId))
      this.ctx.emit({ type: 'captions.changed', imageId })
    } catch (err) {
      this.repo.finishItem(jobId, imageId, 'failed', (err as Error).message, undefined)
    }
    const r = this.remoteRun
    if (r?.jobId === jobId) {
      r.meter.tick()
      const now = Date.now()
      if (now - r.lastEmit > EMIT_MS) {
        r.lastEmit = now
        this.progress(jobId, r.meter, this.ctx.images.get(imageId)?.rel_path)
      }
    }
    return true
  }

  private thresholdOf(jobId: number): number | null {
    if (!this.thresholds.has(jobId)) {
      const t = this.repo.summary(jobId)?.params.autoAcceptAbove
      this.thresholds.set(jobId, typeof t === 'number' ? t : null)
    }
    return this.thresholds.get(jobId)!
  }

  /** One engine request for the chunk when a batch captioner exists, else one request per image. */
  private async captionChunk(ids: number[], options: JobCaptionOptions, signal: AbortSignal): Promise<(CaptionOutcome | Error)[]> {
    if (this.batch && ids.length > 1) return this.batch.caption(ids, options, signal)
    const out: (CaptionOutcome | Error)[] = []
    for (const id of ids) {
      if (signal.aborted) break
      out.push(await this.captioner(id, options, signal).catch((err: unknown) => err as Error))
    }
    return out
  }

  /** An image's candidates, concepts, optional auto-accept and its `done` state, in one transaction. */
  private store(jobId: number, imageId: number, outcome: CaptionOutcome, threshold: number | null): void {
    const usable = outcome.candidates.filter((c) => !isBlankCaption(c.text))
    if (usable.length === 0) throw new StudioError('model_error', 'the model produced no caption')
    this.ctx.db.transaction(() => {
      const stored = this.ctx.captions.addCandidates(imageId, usable)
      if (outcome.concepts?.length) this.storeConcepts(imageId, outcome.concepts)
      const best = usable[0]!
      const bestScore = best.scores.score ?? best.scores.clipS
      let accepted = false
      if (threshold !== null && bestScore !== undefined && bestScore >= threshold && !this.ctx.captions.accepted(imageId)) {
        const cand = stored.find((c) => c.text === normalizeCaption(best.text))
        if (cand) {
          this.ctx.captions.accept(imageId, cand.text, cand.source, cand.scores, cand.id)
          accepted = true
        }
      }
      this.repo.finishItem(jobId, imageId, 'done', null, { candidates: usable.length, accepted, ...(outcome.result ?? {}) })
    })()
  }
}
