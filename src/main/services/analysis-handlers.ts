// Main process / serve / CLI (plain Node). Handlers of the analysis domain: the modality-gap view data,
// region-versus-global similarity, and "learn from my captions" (refit + auto-refit after N accepts).
// The refit matrix is stored per library (settings `realign.<pack>.<method>`) and re-applied to the
// engine before its first use in this host (see `restore`).
import * as v from 'valibot'
import { RefitReport } from '@shared/contract/analysis'
import { RealignmentSchema } from '@shared/contract/engine'
import { coalesce } from '@shared/coalesce'
import { StudioError } from '@shared/errors'
import type { EngineCaller } from '../engine/client'
import { packMatrix, refit, type Pair } from '../analysis/refit'
import { SettingsRepo } from '../store/settings-repo'
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'
import type { EngineService } from './engine-handlers'

type AnalysisHandlers = Pick<Handlers, `analysis.${string}` & keyof Handlers>
/** Settings of this domain ([Note: settings are input]): `realign.<pack>.<method>` (the library's refit
 *  matrix and its report), `refit.last`, `refit.acceptedAt` (accepted total at the last refit) and
 *  `refit.every` (auto-refit interval in accepts, 0 = off). */
const StoredRealignment = v.object({ realignment: RealignmentSchema, report: RefitReport })
const Count = v.pipe(v.number(), v.integer(), v.minValue(0))

export interface AnalysisDeps {
  ctx: ServiceContext
  /** The engine service's methods (status, gap, region similarity, set realignment). */
  engine: Pick<EngineService, 'status' | 'gap' | 'regionSimilarity' | 'setRealignment'>
  /** The raw engine transport, for the refit's embedding calls (analysis/refit.ts). */
  client: EngineCaller
  imagePath(imageId: number): string
}

/** How long the auto-refit check waits after a caption change, coalescing the changes in between. */
const AUTO_REFIT_CHECK_MS = 1000

export function createAnalysis(deps: AnalysisDeps): { handlers: AnalysisHandlers; restore(): Promise<void>; dispose(): void } {
  const { ctx, engine } = deps
  const settings = new SettingsRepo(ctx.db)
  let restored: Promise<void> | null = null
  let refitting = false

  const acceptedPairs = (limit: number): Pair[] => {
    const out: Pair[] = []
    for (const r of ctx.captions.acceptedForExport()) {
      if (out.length >= limit) break
      try {
        out.push({ imageId: r.imageId, file: deps.imagePath(r.imageId), caption: r.text })
      } catch {
        // Missing or moved outside the root: not usable for analysis.
      }
    }
    return out
  }

  const active = async () => {
    const s = await engine.status()
    if (!s.active) throw new StudioError('model_error', s.problem ?? 'no caption model is active')
    return s.active
  }

  const runRefit = async (method: 'procrustes' | 'ridge', holdout: number): Promise<RefitReport> => {
    if (refitting) throw new StudioError('conflict', 'a refit is already running')
    refitting = true
    try {
      const a = await active()
      const key = `realign.${a.packId}.${method}`
      const stored = settings.get(key, StoredRealignment, null)
      const fromPack = stored ? null : await packMatrix(a.dir, method)
      const previous = stored ? { realignment: stored.realignment, source: 'library' as const } : fromPack ? { realignment: fromPack, source: 'pack' as const } : { realignment: null, source: 'none' as const }
      const { realignment, report } = await refit(deps.client, a.dir, a.packId, acceptedPairs(50_000), method, holdout, previous)
      settings.set(key, { realignment, report })
      settings.set('refit.last', report)
      settings.set('refit.acceptedAt', ctx.images.acceptedCount())
      await engine.setRealignment(method, realignment)
      return report
    } finally {
      refitting = false
    }
  }

  // Auto-refit after `every` new accepts (counted from the accepted total at the last refit).
  // [Note: coalesced check] A batch job emits captions.changed for every image it writes. Counting on each
  // event scanned the library once per image (the bench's main-thread profile: 1.7 ms per image at 1,000
  // images, growing with the library), so changes are coalesced: one count AUTO_REFIT_CHECK_MS after the first.
  const autoRefitCheck = coalesce(() => {
    const every = settings.get('refit.every', Count, 50)
    if (every <= 0 || refitting) return
    if (ctx.images.acceptedCount() - settings.get('refit.acceptedAt', Count, 0) < every) return
    runRefit(settings.get('refit.last', RefitReport, null)?.method ?? 'ridge', 0.2).catch((err: unknown) => {
      process.stderr.write(`auto-refit skipped: ${(err as Error).message}\n`)
    })
  }, AUTO_REFIT_CHECK_MS)
  const unsubscribe = ctx.subscribe((e) => {
    if (e.type === 'captions.changed') autoRefitCheck.request()
  })

  const handlers: AnalysisHandlers = {
    'analysis.gap': async ({ maxPairs }) => {
      const pairs = acceptedPairs(maxPairs)
      if (pairs.length < 3) throw new StudioError('invalid_input', `the gap view needs at least 3 accepted captions; this library has ${pairs.length}`)
      // Shifts of the image embeddings along the gap: 0, 0.1, …, 1.5 of the gap vector.
      const fractions = Array.from({ length: 16 }, (_, i) => i / 10)
      const gap = await engine.gap(pairs.map((p) => ({ imageId: p.imageId, caption: p.caption })), fractions)
      const skipped = new Set(gap.skipped.map((s) => s.file))
      const used = pairs.filter((p) => !skipped.has(p.file))
      return { imageIds: used.map((p) => p.imageId), captions: used.map((p) => p.caption), gap }
    },
    'analysis.regionVsGlobal': async ({ maxImages, mode }) => {
      const items = []
      for (const p of acceptedPairs(maxImages)) {
        const r = await engine.regionSimilarity(p.imageId, [p.caption], mode).catch(() => null)
        const c = r?.captions[0]
        if (!c || c.regions.length === 0) continue
        items.push({ imageId: p.imageId, global: c.global, maxRegion: Math.max(...c.regions), meanRegion: c.regions.reduce((a, b) => a + b, 0) / c.regions.length })
      }
      return { items }
    },
    'analysis.refit': ({ method, holdout }) => runRefit(method, holdout),
    'analysis.refitStatus': () => {
      const accepted = ctx.images.acceptedCount()
      return {
        last: settings.get('refit.last', RefitReport, null),
        acceptsSince: Math.max(0, accepted - settings.get('refit.acceptedAt', Count, 0)),
        every: settings.get('refit.every', Count, 50),
        accepted
      }
    },
    'analysis.setRefitEvery': ({ every }) => {
      settings.set('refit.every', every)
      return { every }
    }
  }

  /** Re-applies this library's stored realignments to the engine, once per host. */
  const restore = (): Promise<void> => {
    restored ??= (async () => {
      const s = await engine.status().catch(() => null)
      if (!s?.active) return
      for (const method of ['procrustes', 'ridge'] as const) {
        const stored = settings.get(`realign.${s.active.packId}.${method}`, StoredRealignment, null)
        if (stored) await engine.setRealignment(method, stored.realignment)
      }
    })().catch((err: unknown) => {
      restored = null
      process.stderr.write(`could not restore the library's realignment: ${(err as Error).message}\n`)
    })
    return restored
  }

  const dispose = () => {
    unsubscribe()
    autoRefitCheck.cancel()
  }

  return { handlers, restore, dispose }
}
