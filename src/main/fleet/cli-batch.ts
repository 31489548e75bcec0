// CLI (plain Node). `caption … --queue redis://…`: the files of one CLI run captioned by the worker fleet,
// answered in input order. [Note: fleet producer] The same hub as the studio's, over an in-memory item list;
// the results queue is this run's own (`caption-studio-results-cli-<uuid>`) and is removed at the end.
// A file that cannot be read here gets its error at once; the fleet never sees it.
import { randomUUID } from 'node:crypto'
import { toEnvelope, type ErrorEnvelope } from '@shared/errors'
import { sha256File } from '../engine/packs/verify'
import type { JobCaptionOptions } from '../jobs/runner'
import { FleetHub, type BatchItem } from './hub'
import { optionsHash, resultKey, type FleetCaption, type FleetResultData, type PackIdentity } from './protocol'
import { checkRedis } from './redis'

export type FleetAnswer = { ok: true; caption: FleetCaption; worker: string } | { ok: false; error: ErrorEnvelope }

export interface CliFleetRun {
  redis: string
  pack: PackIdentity
  files: readonly string[]
  options: JobCaptionOptions
  /** Called once per file, in input order. */
  onAnswer(index: number, answer: FleetAnswer): void
  signal?: AbortSignal
  log?: (line: string) => void
  chunk?: number
}

export async function captionOnFleet(o: CliFleetRun): Promise<void> {
  const answers: (FleetAnswer | undefined)[] = new Array(o.files.length)
  const hashes: (string | null)[] = []
  for (const [i, f] of o.files.entries()) {
    try {
      hashes.push(await sha256File(f))
    } catch (err) {
      hashes.push(null)
      answers[i] = { ok: false, error: toEnvelope(err) }
    }
  }
  let next = 0
  const flush = () => {
    while (next < o.files.length && answers[next]) o.onAnswer(next, answers[next++]!)
  }
  flush()
  const oh = optionsHash(o.options)
  const answer = (i: number, a: FleetAnswer) => {
    if (answers[i]) return
    answers[i] = a
    flush()
  }
  const sink = (r: FleetResultData) => {
    for (const item of r.items) {
      const hash = hashes[item.ref]
      if (hash === undefined || hash === null || answers[item.ref]) continue
      if (!item.ok) answer(item.ref, { ok: false, error: item.error as ErrorEnvelope })
      else if (item.key === resultKey(hash, r.pack, oh)) answer(item.ref, { ok: true, caption: item.caption, worker: r.worker })
    }
  }
  // a one-off run fails fast when Redis is not there (the studio's jobs wait for it instead)
  await checkRedis(o.redis)
  const replyTo = `caption-studio-results-cli-${randomUUID()}`
  const hub = new FleetHub({ redis: o.redis, replyTo, sink, reconcileMs: 1000, ...(o.log ? { log: o.log } : {}) })
  const isPending = (i: number) => !answers[i]
  const abort = new AbortController()
  o.signal?.addEventListener('abort', () => abort.abort('cancelled'), { once: true })
  try {
    await hub.run({
      batchId: 0,
      pack: o.pack,
      options: o.options,
      chunk: o.chunk ?? 8,
      signal: abort.signal,
      source: {
        pending(limit) {
          const out: BatchItem[] = []
          for (let i = next; i < o.files.length && out.length < limit; i++) if (isPending(i)) out.push({ ref: i, seq: i, gen: 0, path: o.files[i]!, hash: hashes[i]! })
          return out
        },
        isPending,
        fail(refs, reason) {
          for (const i of refs) answer(i, { ok: false, error: { code: 'model_error', message: `fleet: ${reason}` } })
        }
      }
    })
  } finally {
    await hub.obliterateAnswers().catch(() => undefined)
    await hub.close()
  }
}
