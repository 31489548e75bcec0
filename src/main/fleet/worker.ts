// Host side (plain Node: `caption-studio worker`). A headless fleet worker: takes caption chunks from the
// BullMQ queue, runs them through the same engine as the studio (EngineClient: the engine worker thread,
// the same pack verification, options and provider fallback) and answers on the producer's results queue.
// [Note: fleet worker] It opens no library database and keeps no state but its engines: every job carries
// what the answer depends on (pack identity, options, content hashes), and the worker checks each against
// what it has — a job for another pack (id, version or fingerprint) is failed at once with the reason
// (UnrecoverableError: never retried, never answered with mixed embeddings), a path outside the roots or a
// file whose bytes differ from the producer's is a per-image error. `concurrency` engines (each its own
// worker thread with `threads` ONNX Runtime threads) caption chunks in parallel, and BullMQ holds one more
// chunk per engine, read and hashed while the engine works, so an engine does not sit idle while the next
// chunk is fetched from Redis and its answer sent. The engine runs off this
// thread, so BullMQ's lock renewals keep flowing while it computes; a worker that dies loses its locks and
// BullMQ's stalled-job check hands its chunks to another worker.
import { hostname } from 'node:os'
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import * as v from 'valibot'
import { describeIssues } from '@shared/contract/define'
import { toEnvelope } from '@shared/errors'
import { EngineClient, type CaptionFailure, type CaptionResult, type EngineCaller, type EngineStatus } from '../engine/client'
import { readPackJson } from '../engine/packs/pack'
import { sha256File } from '../engine/packs/verify'
import { CAPTION_QUEUE, describePack, FleetJobData, optionsHash, packIdentity, resultKey, samePack, type FleetCaption, type FleetImage, type FleetItemResult, type FleetResultData, type PackIdentity } from './protocol'
import { consumerConnection, producerConnection, redactUrl } from './redis'
import { mapPath, type RootMapping } from './roots'

export interface FleetWorkerOptions {
  redis: string
  packDir: string
  roots: readonly RootMapping[]
  /** Chunks captioned at once, one engine thread each (default 1). */
  concurrency?: number
  /** ONNX Runtime intra-op threads per engine (default 1). */
  threads?: number
  /** BullMQ lock duration and stalled-check interval (defaults 30 s each; tests shorten them). */
  lockMs?: number
  stalledMs?: number
  queue?: string
  name?: string
  log?: (line: string) => void
  /** Engine factory (default: EngineClient beside the running bundle). */
  engine?: (threads: number) => EngineCaller
}

/** Engines handed out one per running chunk. */
class EnginePool {
  private readonly free: EngineCaller[]
  private readonly waiters: ((e: EngineCaller) => void)[] = []
  constructor(readonly all: EngineCaller[]) {
    this.free = [...all]
  }
  acquire(): Promise<EngineCaller> {
    const e = this.free.pop()
    return e ? Promise.resolve(e) : new Promise((resolve) => this.waiters.push(resolve))
  }
  release(e: EngineCaller): void {
    const w = this.waiters.shift()
    if (w) w(e)
    else this.free.push(e)
  }
}

type Prepared = { ref: number; key: string; file: string } | FleetItemResult

export class FleetWorker {
  private worker: Worker | null = null
  private readonly replies = new Map<string, Queue>()
  private lastErrorLog = 0

  private constructor(
    private readonly o: FleetWorkerOptions,
    readonly identity: PackIdentity,
    readonly status: EngineStatus,
    private readonly pool: EnginePool,
    readonly name: string
  ) {}

  /** Verify and open the pack in every engine, then start taking jobs. */
  static async start(o: FleetWorkerOptions): Promise<FleetWorker> {
    const concurrency = Math.max(1, o.concurrency ?? 1)
    const threads = Math.max(1, o.threads ?? 1)
    const json = await readPackJson(o.packDir)
    const engines = Array.from({ length: concurrency }, () => (o.engine ? o.engine(threads) : new EngineClient({ intraOpThreads: threads })))
    let status: EngineStatus | undefined
    try {
      for (const e of engines) status = await e.call('open', { packDir: o.packDir, warm: true })
    } catch (err) {
      await Promise.all(engines.map((e) => e.dispose().catch(() => undefined)))
      throw err
    }
    const name = o.name ?? `${hostname()}:${process.pid}`
    const w = new FleetWorker(o, packIdentity(json), status!, new EnginePool(engines), name)
    w.listen(concurrency)
    return w
  }

  private log(line: string): void {
    ;(this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line)
  }

  private listen(concurrency: number): void {
    const worker = new Worker(this.o.queue ?? CAPTION_QUEUE, (job) => this.process(job), {
      connection: consumerConnection(this.o.redis),
      concurrency: concurrency * 2,
      name: this.name,
      lockDuration: this.o.lockMs ?? 30_000,
      stalledInterval: this.o.stalledMs ?? 30_000,
      maxStalledCount: 2,
      drainDelay: 1
    })
    worker.on('failed', (job, err) => this.log(`job ${job?.id ?? '?'} failed: ${err.message}`))
    worker.on('error', (err) => {
      // while Redis is away every reconnect attempt reports; say it every few seconds, not each time
      if (Date.now() - this.lastErrorLog < 5000) return
      this.lastErrorLog = Date.now()
      this.log(`redis ${redactUrl(this.o.redis)}: ${err.message}`)
    })
    this.worker = worker
  }

  private reply(name: string): Queue {
    let q = this.replies.get(name)
    if (!q) {
      q = new Queue(name, { connection: producerConnection(this.o.redis) })
      q.on('error', () => undefined)
      this.replies.set(name, q)
      // a worker outlives many producers; keep the connections of the most recent few
      if (this.replies.size > 16) {
        const [oldest] = this.replies
        if (oldest) {
          this.replies.delete(oldest[0])
          void oldest[1].close().catch(() => undefined)
        }
      }
    }
    return q
  }

  /** Map a producer path through the roots and check the bytes are the producer's. */
  private async prepare(img: FleetImage, optsHash: string): Promise<Prepared> {
    try {
      const file = await mapPath(this.o.roots, img.path)
      const hash = await sha256File(file)
      if (hash !== img.hash) return { ok: false, ref: img.ref, key: null, error: { code: 'conflict', message: `${img.path}: the file this worker reads (${file}) has other bytes than the producer's (sha256 ${hash.slice(0, 12)}…, expected ${img.hash.slice(0, 12)}…)` } }
      return { ref: img.ref, key: resultKey(hash, this.identity, optsHash), file }
    } catch (err) {
      return { ok: false, ref: img.ref, key: null, error: toEnvelope(err) }
    }
  }

  private async process(job: Job): Promise<{ images: number; worker: string }> {
    const parsed = v.safeParse(FleetJobData, job.data)
    if (!parsed.success) throw new UnrecoverableError(`invalid caption job ${job.id ?? '?'}: ${describeIssues(parsed.issues)}`)
    const d = parsed.output
    if (!samePack(d.pack, this.identity)) {
      throw new UnrecoverableError(`pack mismatch: the job needs ${describePack(d.pack)}, worker ${this.name} has ${describePack(this.identity)}; give this worker that pack (or the studio this one) and retry the failed images`)
    }
    if (optionsHash(d.options) !== d.optionsHash) throw new UnrecoverableError(`caption job ${job.id ?? '?'}: its options do not match its options hash`)
    // attemptsStarted counts every start, also after a stall (attemptsMade counts failures only)
    const start = Math.max(1, job.attemptsStarted)
    this.log(`job ${job.id ?? '?'} started: ${d.images.length} images (start ${start})`)
    const t0 = performance.now()
    const prepared = await Promise.all(d.images.map((img) => this.prepare(img, d.optionsHash)))
    const runnable = prepared.filter((p): p is { ref: number; key: string; file: string } => 'file' in p)
    const engine = await this.pool.acquire()
    let out: (CaptionResult | CaptionFailure)[] = []
    try {
      if (runnable.length) out = await engine.call('caption', { packDir: this.o.packDir, inputs: runnable.map((p) => ({ file: p.file })), options: d.options })
    } finally {
      this.pool.release(engine)
    }
    let k = 0
    const items: FleetItemResult[] = prepared.map((p) => {
      if (!('file' in p)) return p
      const r = out[k++]
      if (!r) return { ok: false, ref: p.ref, key: p.key, error: { code: 'internal', message: 'the engine returned no result' } }
      if ('error' in r) return { ok: false, ref: p.ref, key: p.key, error: r.error }
      return { ok: true, ref: p.ref, key: p.key, caption: toFleetCaption(r) }
    })
    const ms = performance.now() - t0
    const result: FleetResultData = { v: 1, batchId: d.batchId, chunk: d.chunk, pack: this.identity, worker: this.name, attempt: start, ms, items }
    await this.reply(d.replyTo).add('result', result, { jobId: d.chunk, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 }, attempts: 5, backoff: { type: 'exponential', delay: 500 } })
    this.log(`job ${job.id ?? '?'} done: ${items.filter((i) => i.ok).length}/${items.length} captioned in ${Math.round(ms)} ms`)
    return { images: items.length, worker: this.name }
  }

  /** Finish the chunks in progress, then stop (SIGTERM). */
  async close(): Promise<void> {
    await this.worker?.close()
    this.worker = null
    await Promise.all([...this.replies.values()].map((q) => q.close().catch(() => undefined)))
    this.replies.clear()
    await Promise.all(this.pool.all.map((e) => e.dispose().catch(() => undefined)))
  }
}

/** The engine's result for one image as it travels (no file path: the producer knows its own). */
function toFleetCaption(r: CaptionResult): FleetCaption {
  // the image embedding stays on the worker (fleet answers keep no embedding: index those images with the index job)
  const { file: _f, embedding: _e, ...rest } = r
  return { ...rest, options: { ...r.options } } as FleetCaption
}
