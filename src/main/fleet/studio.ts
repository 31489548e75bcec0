// Main process / serve (plain Node). The studio's end of the worker fleet: runs a batch job's pending items
// on the fleet (hub.ts) and stores the answers through the job runner, the studio's single writer.
// [Note: remote jobs] Items and their states stay in SQLite; Redis holds only the chunks in flight and the
// answers not yet stored. An answer is stored when its image's item is still pending and its result key
// ([Note: result key]) equals the key of the image's current content hash, the answering pack and the job's
// options — so a duplicate is ignored and an answer for changed bytes or options is dropped (the image
// stays pending and is queued again). The results queue is this library's own (`caption-studio-results-
// <library id>`), so answers that arrive while the studio is closed wait in Redis for the next start.
import { randomUUID } from 'node:crypto'
import * as v from 'valibot'
import { CaptionOptionsSchema } from '@shared/contract/engine'
import { fromEnvelope, StudioError, type ErrorEnvelope } from '@shared/errors'
import { readPackJson } from '../engine/packs/pack'
import type { CaptionOutcome, JobCaptionOptions } from '../jobs/runner'
import type { RemoteBatches, RemoteJob } from '../jobs/remote'
import { resolveImageSync } from '../library/image-path'
import { toCaptionOutcome } from '../services/candidates'
import type { ServiceContext } from '../services/context'
import { SettingsRepo } from '../store/settings-repo'
import { FleetHub, type BatchItem } from './hub'
import { optionsHash, packIdentity, resultKey, type FleetResultData } from './protocol'
import { parseRedisUrl } from './redis'

export interface StudioFleetDeps {
  ctx: ServiceContext
  /** The active pack's folder (the engine service's registry). */
  activePackDir(): Promise<string>
  /** The runner's items of a job, first pending ones in queue order. */
  pendingItems(jobId: number, limit: number): { imageId: number; seq: number; attempts: number }[]
  isPending(jobId: number, imageId: number): boolean
  /** The runner's deliverRemote: stores one image's outcome once. */
  deliver(jobId: number, imageId: number, outcome: CaptionOutcome | Error): boolean
  /** The job's caption options as queued (null: no such job). */
  jobOptions(jobId: number): JobCaptionOptions | null
  reconcileMs?: number
  log?: (line: string) => void
}

const StudioId = v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/))

export function createStudioFleet(deps: StudioFleetDeps): RemoteBatches {
  const { ctx } = deps
  const hubs = new Map<string, FleetHub>()
  const settings = new SettingsRepo(ctx.db)
  let studioId = settings.get('fleet.studioId', StudioId, null)
  if (!studioId) {
    studioId = randomUUID()
    settings.set('fleet.studioId', studioId)
  }
  const replyTo = `caption-studio-results-${studioId}`
  const optionHashes = new Map<number, string | null>()
  const mismatches = new Map<number, number>()

  const optionsHashOf = (jobId: number): string | null => {
    if (!optionHashes.has(jobId)) {
      const o = deps.jobOptions(jobId)
      optionHashes.set(jobId, o ? optionsHash(o) : null)
    }
    return optionHashes.get(jobId)!
  }

  /** [Note: remote jobs] Every answer read from this library's results queue. */
  function sink(r: FleetResultData): void {
    const oh = optionsHashOf(r.batchId)
    if (oh === null) return
    for (const item of r.items) {
      const img = ctx.images.get(item.ref)
      if (!img || !deps.isPending(r.batchId, item.ref)) continue
      if (!item.ok) {
        deps.deliver(r.batchId, item.ref, fromEnvelope(item.error as ErrorEnvelope))
        continue
      }
      if (item.key !== resultKey(img.hash, r.pack, oh)) {
        // stale (the file changed and was rescanned meanwhile): queued again; an answer that never fits fails
        const n = (mismatches.get(item.ref) ?? 0) + 1
        mismatches.set(item.ref, n)
        if (n >= 3) deps.deliver(r.batchId, item.ref, new StudioError('conflict', `the fleet's answers for this image were computed for other bytes, pack or options ${n} times`))
        continue
      }
      const out = { imageId: item.ref, packId: r.pack.id, ...item.caption }
      deps.deliver(r.batchId, item.ref, toCaptionOutcome(out, { worker: r.worker, fleetKey: item.key }))
    }
  }

  function hubFor(url: string): FleetHub {
    let hub = hubs.get(url)
    if (!hub) {
      parseRedisUrl(url)
      hub = new FleetHub({ redis: url, replyTo, sink, ...(deps.reconcileMs ? { reconcileMs: deps.reconcileMs } : {}), ...(deps.log ? { log: deps.log } : {}) })
      hubs.set(url, hub)
    }
    return hub
  }

  return {
    async run(job: RemoteJob) {
      const hub = hubFor(job.fleet.redis)
      const pack = packIdentity(await readPackJson(await deps.activePackDir()))
      const options = v.parse(CaptionOptionsSchema, job.options)
      optionHashes.set(job.jobId, optionsHash(options))
      const located = new Map<number, { path: string; hash: string }>()
      const source = {
        pending(limit: number): BatchItem[] {
          const out: BatchItem[] = []
          for (const it of deps.pendingItems(job.jobId, limit)) {
            let loc = located.get(it.imageId)
            if (!loc) {
              const img = ctx.images.get(it.imageId)
              try {
                if (!img || img.missing || img.error) throw new StudioError('not_found', img ? (img.error ?? 'file is missing') : 'image was removed')
                loc = { path: resolveImageSync(ctx.images, it.imageId), hash: img.hash }
                located.set(it.imageId, loc)
              } catch (err) {
                deps.deliver(job.jobId, it.imageId, err as Error)
                continue
              }
            }
            out.push({ ref: it.imageId, seq: it.seq, gen: it.attempts, ...loc })
          }
          return out
        },
        isPending: (ref: number) => deps.isPending(job.jobId, ref),
        fail(refs: number[], reason: string) {
          for (const ref of refs) deps.deliver(job.jobId, ref, new StudioError('model_error', `fleet: ${reason}`))
        }
      }
      await hub.run({ batchId: job.jobId, pack, options, source, chunk: job.fleet.chunk, window: job.fleet.window, signal: job.signal })
    },
    async close() {
      await Promise.all([...hubs.values()].map((h) => h.close()))
      hubs.clear()
    }
  }
}
