// Host side (plain Node: the studio's main / serve process and the CLI). The producer end of the fleet:
// puts a batch's images on the caption queue in chunks and reads the answers from its own results queue.
// [Note: fleet producer] The producer's item list (the studio: the runner's job items in SQLite) stays the
// source of truth; Redis only holds work in flight. `run` keeps at most `window` chunks queued or running,
// refills as answers arrive, and every `reconcileMs` asks Redis about each chunk in flight: a failed chunk
// fails its images with BullMQ's reason (a pack mismatch, retries exhausted); a chunk that exists neither
// as a caption job nor as an unread answer was lost (Redis restarted without persistence) and is queued
// again. Chunk ids are `replyTo-batch-chunkIndex-generation` (the index is `seq / chunk`, the generation
// the items' attempt count), so queueing a chunk that Redis still holds is a no-op — a studio that restarts
// re-queues what is pending without doubling work already queued — while images queued again after a
// failure get a fresh id. Answers are stored by `sink` ([Note: result key]: idempotent), in any order and
// also for batches that are not running now (a paused job, or one finished while the studio was closed):
// an answer is acknowledged (its result job completes and is removed) only after `sink` returned.
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq'
import * as v from 'valibot'
import { describeIssues } from '@shared/contract/define'
import { CAPTION_QUEUE, FleetResultData, optionsHash, type FleetJobData, type PackIdentity } from './protocol'
import { consumerConnection, producerConnection, redactUrl } from './redis'
import type { JobCaptionOptions } from '../jobs/runner'
import { SHUTDOWN } from '../jobs/remote'

export interface BatchItem {
  /** The producer's handle (studio: image id; CLI: input index). */
  ref: number
  /** Queue order; chunk index = floor(seq / chunk). */
  seq: number
  /** Attempts so far: a chunk queued again after a failure gets a fresh id. */
  gen: number
  path: string
  hash: string
}

export interface BatchSource {
  /** The first `limit` pending items in seq order (items in flight included). */
  pending(limit: number): BatchItem[]
  isPending(ref: number): boolean
  /** A chunk failed in the fleet: fail these of its images (still pending) with the reason. */
  fail(refs: number[], reason: string): void
}

export interface FleetBatch {
  batchId: number
  pack: PackIdentity
  options: JobCaptionOptions
  source: BatchSource
  /** Images per chunk (default 8) and chunks in flight (default 64). */
  chunk?: number
  window?: number
  /** Abort with reason 'shutdown' to leave queued chunks to the fleet (the host closes); any other reason
   *  (pause, cancel) also takes the chunks not yet started off the queue. */
  signal: AbortSignal
}

export interface FleetHubOptions {
  redis: string
  /** This producer's results queue (letters, digits, '.', '_', '-'). */
  replyTo: string
  /** Store one answer (synchronously); called for every answer read, whichever batch it belongs to. */
  sink(result: FleetResultData): void
  reconcileMs?: number
  queue?: string
  /** Attempts of a caption chunk before it fails (default 3; a pack mismatch fails at once). */
  attempts?: number
  log?: (line: string) => void
}

interface Running {
  wake: () => void
  inflight: Map<string, number[]>
}

export class FleetHub {
  readonly captions: Queue
  private readonly results: Queue
  private readonly consumer: Worker
  private readonly running = new Map<number, Running>()
  private lastErrorLog = 0
  private readonly closing = new AbortController()

  constructor(private readonly o: FleetHubOptions) {
    this.captions = new Queue(o.queue ?? CAPTION_QUEUE, { connection: producerConnection(o.redis) })
    this.results = new Queue(o.replyTo, { connection: producerConnection(o.redis) })
    for (const q of [this.captions, this.results]) q.on('error', (err) => this.logError(err))
    this.consumer = new Worker(o.replyTo, (job) => this.receive(job), { connection: consumerConnection(o.redis), concurrency: 1, drainDelay: 1 })
    this.consumer.on('error', (err) => this.logError(err))
  }

  private log(line: string): void {
    ;(this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line)
  }

  private logError(err: Error): void {
    if (Date.now() - this.lastErrorLog < 5000) return
    this.lastErrorLog = Date.now()
    this.log(`fleet: redis ${redactUrl(this.o.redis)}: ${err.message}`)
  }

  private async receive(job: Job): Promise<void> {
    const parsed = v.safeParse(FleetResultData, job.data)
    if (!parsed.success) throw new UnrecoverableError(`invalid fleet answer ${job.id ?? '?'}: ${describeIssues(parsed.issues)}`)
    this.o.sink(parsed.output)
    const r = this.running.get(parsed.output.batchId)
    if (r) {
      r.inflight.delete(parsed.output.chunk)
      r.wake()
    }
  }

  /** Run one batch until none of its items is pending or the signal aborts. */
  async run(b: FleetBatch): Promise<void> {
    const chunk = Math.max(1, b.chunk ?? 8)
    const window = Math.max(1, b.window ?? 64)
    const oh = optionsHash(b.options)
    let waker: (() => void) | null = null
    const me: Running = { wake: () => waker?.(), inflight: new Map() }
    this.running.set(b.batchId, me)
    // [Note: fleet reconnects] while Redis is away BullMQ's calls wait for it; pause, cancel and shutdown
    // must not, so every call of the loop gives up when the batch's signal or the hub's closing aborts
    const signal = AbortSignal.any([b.signal, this.closing.signal])
    const onAbort = () => me.wake()
    signal.addEventListener('abort', onAbort)
    let nextReconcile = Date.now() + (this.o.reconcileMs ?? 2000)
    try {
      await this.drainAnswers(signal)
      while (!signal.aborted) {
        let pause = this.o.reconcileMs ?? 2000
        try {
          if (Date.now() >= nextReconcile) {
            await unlessAborted(this.reconcile(b, me.inflight), signal)
            nextReconcile = Date.now() + (this.o.reconcileMs ?? 2000)
          }
          const pending = b.source.pending(2 * window * chunk)
          if (pending.length === 0) return
          await unlessAborted(this.refill(b, pending, me.inflight, chunk, window, oh), signal)
          pause = Math.max(0, nextReconcile - Date.now())
        } catch (err) {
          if (signal.aborted) break
          // Redis away: the producer connection gave up on this call; try again shortly
          this.logError(err as Error)
          pause = 1000
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, pause)
          waker = () => {
            clearTimeout(t)
            resolve()
          }
        })
        waker = null
      }
      if (b.signal.reason !== SHUTDOWN && !this.closing.signal.aborted) await Promise.race([this.withdraw(me.inflight), sleep(3000)])
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.running.delete(b.batchId)
    }
  }

  /** A producer that starts again first reads the answers that waited for it, so it does not queue again
   *  what the fleet already finished while it was away (bounded: a minute at most). */
  private async drainAnswers(signal: AbortSignal): Promise<void> {
    const until = Date.now() + 60_000
    while (!signal.aborted && Date.now() < until) {
      const c = await unlessAborted(this.results.getJobCounts('wait', 'active', 'delayed'), signal).catch(() => null)
      if (!c || (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0) return
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  private async refill(b: FleetBatch, pending: readonly BatchItem[], inflight: Map<string, number[]>, chunk: number, window: number, oh: string): Promise<void> {
    const groups = new Map<number, BatchItem[]>()
    for (const it of pending) {
      const k = Math.floor(it.seq / chunk)
      const g = groups.get(k)
      if (g) g.push(it)
      else groups.set(k, [it])
    }
    const add: { name: string; data: FleetJobData; opts: { jobId: string } & Record<string, unknown> }[] = []
    for (const [k, items] of groups) {
      if (inflight.size + add.length >= window) break
      const id = `${this.o.replyTo}-${b.batchId}-${k}-${Math.max(...items.map((i) => i.gen))}`
      if (inflight.has(id)) continue
      const data: FleetJobData = { v: 1, batchId: b.batchId, chunk: id, replyTo: this.o.replyTo, pack: b.pack, options: b.options, optionsHash: oh, images: items.map((i) => ({ ref: i.ref, path: i.path, hash: i.hash })) }
      add.push({ name: 'caption', data, opts: { jobId: id, attempts: this.o.attempts ?? 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } } })
      inflight.set(id, items.map((i) => i.ref))
    }
    if (add.length === 0) return
    try {
      await this.captions.addBulk(add)
    } catch (err) {
      for (const a of add) inflight.delete(a.opts.jobId)
      throw err
    }
  }

  /** [Note: fleet producer] What became of the chunks in flight. */
  private async reconcile(b: FleetBatch, inflight: Map<string, number[]>): Promise<void> {
    for (const [id, refs] of [...inflight]) {
      const state = await this.captions.getJobState(id)
      const open = refs.filter((r) => b.source.isPending(r))
      if (open.length === 0) {
        inflight.delete(id)
        continue
      }
      if (state === 'failed') {
        const job = await Job.fromId(this.captions, id)
        b.source.fail(open, job?.failedReason || 'the fleet failed this chunk')
        await job?.remove().catch(() => undefined)
        inflight.delete(id)
      } else if (state === 'unknown') {
        const answer = await this.results.getJobState(id)
        if (answer === 'unknown' || answer === 'failed') {
          if (answer === 'failed') await (await Job.fromId(this.results, id))?.remove().catch(() => undefined)
          this.log(`fleet: chunk ${id} was lost (Redis restarted?); queueing it again`)
          inflight.delete(id)
        }
      }
    }
  }

  /** Pause or cancel: take the chunks nobody has started off the queue (running ones finish and answer). */
  private async withdraw(inflight: Map<string, number[]>): Promise<void> {
    for (const id of inflight.keys()) await this.captions.remove(id).catch(() => 0)
    inflight.clear()
  }

  /** Remove this producer's results queue from Redis (a one-off producer, the CLI, when it is done). */
  async obliterateAnswers(): Promise<void> {
    const work = (async () => {
      await this.consumer.close()
      await this.results.obliterate({ force: true })
    })()
    await Promise.race([work, sleep(5000)])
  }

  /** Stop reading answers (those unread stay in Redis) and close the connections. */
  async close(): Promise<void> {
    this.closing.abort()
    // a host shutting down while Redis is away must not hang: after a few seconds, just disconnect
    const graceful = Promise.all([this.consumer.close(), this.captions.close(), this.results.close()].map((p) => p.catch(() => undefined)))
    const late = await Promise.race([graceful.then(() => false), sleep(3000).then(() => true)])
    if (late) for (const c of [this.consumer, this.captions, this.results]) void c.disconnect().catch(() => undefined)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref())

/** `p`, or a rejection as soon as `signal` aborts (the call itself may go on in the background). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (x) => (signal.removeEventListener('abort', onAbort), resolve(x)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error))
    )
  })
}
