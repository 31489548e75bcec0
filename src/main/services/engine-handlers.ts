// Main process / serve / CLI (plain Node). Handlers of the `models.*` and `engine.*` operations.
// [Note: engine handlers] Inference runs in the engine worker through an EngineCaller (EngineClient by
// default); pack installs run here (they are I/O bound) and report progress as `models.install` events.
// Packs come from two places: bundled (`bundledPacksDir`, read-only, e.g. models/ in the repo or the app's
// resources) and installed (`<dataDir>/packs/<id>`, which wins over a bundled pack with the same id). The
// active pack id is kept in `<dataDir>/engine.json`; with none chosen, `shapes-demo` (else the first valid
// pack) is used. Verified file hashes are remembered in `<dataDir>/pack-verify.json`.
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type * as v from 'valibot'
import type { engine as engineOps } from '@shared/contract/engine'
import type { StudioEvent } from '@shared/contract/events'
import type { models as modelOps, PackSummary } from '@shared/contract/models'
import { fromEnvelope, StudioError } from '@shared/errors'
import { EngineClient, type EngineCaller } from '../engine/client'
import { installPack } from '../engine/packs/install'
import { readPackJson } from '../engine/packs/pack'
import { VerifyCache, verifyFiles } from '../engine/packs/verify'

export interface EngineHandlerContext {
  dataDir: string
  /** Absolute path of a library image, already checked to lie under a library root; throws not_found. */
  imagePath(imageId: number): string
  emit(event: StudioEvent): void
  /** Folder of read-only bundled packs (default: `<cwd>/models`). */
  bundledPacksDir?: string
  /** Engine transport (default: a lazily spawned worker, out/main/engine-worker.js). */
  engine?: EngineCaller
}

type Ops = typeof engineOps & typeof modelOps
export type EngineHandlers = { [K in keyof Ops]: (input: v.InferOutput<Ops[K]['input']>) => Promise<v.InferOutput<Ops[K]['output']>> }

interface PackEntry {
  summary: PackSummary
}

/** engine.caption's output for one image, or why that image failed. */
export type CaptionManyResult = v.InferOutput<Ops['engine.caption']['output']> | Error

export interface EngineService {
  handlers: EngineHandlers
  /** Batch jobs: several images in one engine request (batched preprocessing and image encoding), one
   *  result or error per image in input order; the signal cancels the request in the worker. */
  captionMany(imageIds: readonly number[], options: Record<string, unknown>, signal?: AbortSignal): Promise<CaptionManyResult[]>
}

export function createEngineHandlers(ctx: EngineHandlerContext): EngineHandlers {
  return createEngineService(ctx).handlers
}

export function createEngineService(ctx: EngineHandlerContext): EngineService {
  const client = ctx.engine ?? new EngineClient()
  const packsDir = join(ctx.dataDir, 'packs')
  const bundledDir = resolve(ctx.bundledPacksDir ?? join(process.cwd(), 'models'))
  const stateFile = join(ctx.dataDir, 'engine.json')
  const verifyCacheFile = join(ctx.dataDir, 'pack-verify.json')

  async function readState(): Promise<{ activeId: string | null }> {
    try {
      const s = JSON.parse(await readFile(stateFile, 'utf8')) as { activeId?: unknown }
      return { activeId: typeof s.activeId === 'string' ? s.activeId : null }
    } catch {
      return { activeId: null }
    }
  }

  async function writeState(activeId: string): Promise<void> {
    active = null
    await mkdir(ctx.dataDir, { recursive: true })
    const tmp = `${stateFile}.tmp`
    await writeFile(tmp, JSON.stringify({ activeId }))
    await rename(tmp, stateFile)
  }

  async function scan(dir: string, origin: PackSummary['origin']): Promise<PackEntry[]> {
    const names = await readdir(dir).catch(() => [] as string[])
    const out: PackEntry[] = []
    for (const n of names.sort()) {
      if (n.startsWith('.') || !existsSync(join(dir, n, 'pack.json'))) continue
      const packDir = join(dir, n)
      try {
        const j = await readPackJson(packDir)
        out.push({ summary: { id: j.id, version: j.version, description: j.description ?? null, licence: j.licence ?? null, dir: packDir, origin, active: false, embedDim: j.embedDim, decoders: j.decoders.map((d) => d.id), problem: null } })
      } catch (err) {
        out.push({ summary: { id: n, version: '', description: null, licence: null, dir: packDir, origin, active: false, embedDim: 0, decoders: [], problem: (err as Error).message } })
      }
    }
    return out
  }

  async function listPacks(): Promise<{ packs: PackSummary[]; activeId: string | null }> {
    const byId = new Map<string, PackSummary>()
    for (const e of await scan(bundledDir, 'bundled')) byId.set(e.summary.id, e.summary)
    for (const e of await scan(packsDir, 'installed')) byId.set(e.summary.id, e.summary)
    const packs = [...byId.values()]
    const { activeId: chosen } = await readState()
    const valid = packs.filter((p) => !p.problem)
    const activeId = (chosen && valid.some((p) => p.id === chosen) ? chosen : null) ?? valid.find((p) => p.id === 'shapes-demo')?.id ?? valid[0]?.id ?? null
    for (const p of packs) p.active = p.id === activeId
    return { packs, activeId }
  }

  async function packDirOf(id: string): Promise<string> {
    const { packs } = await listPacks()
    const p = packs.find((x) => x.id === id)
    if (!p) throw new StudioError('not_found', `no pack "${id}" (installed or bundled)`)
    if (p.problem) throw new StudioError('model_error', p.problem)
    return p.dir
  }

  // [Note: active pack memo] Every engine call needs the active pack's folder. Finding it scans the pack
  // folders and validates each pack.json, which a batch job paid twice per image; the answer is kept for
  // ACTIVE_TTL_MS and dropped whenever the active pack changes or a pack is installed, so a pack folder
  // edited by hand is still noticed within a second or two (the worker re-verifies changed files on open).
  let active: { dir: string; packId: string; at: number } | null = null
  const ACTIVE_TTL_MS = 2000

  async function activePack(): Promise<{ dir: string; packId: string }> {
    if (active && performance.now() - active.at < ACTIVE_TTL_MS) return active
    const { activeId } = await listPacks()
    if (!activeId) throw new StudioError('not_found', 'no caption pack is installed: install one with models.install')
    const dir = await packDirOf(activeId)
    const st = await client.call('open', { packDir: dir, options: { verifyCacheFile } })
    active = { dir, packId: st.packId, at: performance.now() }
    return active
  }

  async function activeDir(): Promise<string> {
    return (await activePack()).dir
  }

  /** One image's worker result as engine.caption's output, or the error the worker reported for it. */
  function captionOutput(imageId: number, packId: string, r: Awaited<ReturnType<typeof client.call<'caption'>>>[number] | undefined): CaptionManyResult {
    if (!r) return new StudioError('internal', 'engine returned no result')
    if ('error' in r) return fromEnvelope(r.error)
    const { file: _f, ...rest } = r
    return { imageId, packId, ...rest, options: { ...r.options } }
  }

  const handlers: EngineHandlers = {
    'models.list': () => listPacks(),

    'models.install': async ({ source, activate }) => {
      let packId = ''
      try {
        const r = await installPack(source, packsDir, {
          cache: new VerifyCache(verifyCacheFile),
          onProgress: (p) => {
            packId = p.packId
            ctx.emit({ type: 'models.install', source, packId: p.packId, phase: p.phase, file: p.file, received: p.received, total: p.total })
          }
        })
        // A pack replaced on disk must be re-opened by the worker.
        active = null
        await client.call('close', { packDir: r.dir })
        if (activate) {
          await writeState(r.id)
          ctx.emit({ type: 'engine.changed', packId: r.id })
        }
        return r
      } catch (err) {
        ctx.emit({ type: 'models.install', source, packId, phase: 'failed', received: 0, total: 0, message: (err as Error).message })
        throw err
      }
    },

    'models.activate': async ({ id }) => {
      const dir = await packDirOf(id)
      const t0 = performance.now()
      await client.call('open', { packDir: dir, options: { verifyCacheFile }, warm: true })
      const st = await client.call('status', { packDir: dir })
      await writeState(id)
      ctx.emit({ type: 'engine.changed', packId: id })
      return { id, provider: st.provider ?? 'cpu', verifyMs: performance.now() - t0 }
    },

    'models.verify': async ({ id }) => {
      const dir = await packDirOf(id)
      try {
        const j = await readPackJson(dir)
        const r = await verifyFiles(dir, j.files, new VerifyCache())
        return { id, ok: true, checked: r.checked, hashed: r.hashed, ms: r.ms, problem: null }
      } catch (err) {
        return { id, ok: false, checked: 0, hashed: 0, ms: 0, problem: (err as Error).message }
      }
    },

    'engine.status': async () => {
      try {
        const dir = await activeDir()
        const st = await client.call('status', { packDir: dir })
        const { verify: _v, ...rest } = st
        return { active: rest, problem: null }
      } catch (err) {
        return { active: null, problem: (err as Error).message }
      }
    },

    'engine.caption': async ({ imageId, options, references }) => {
      const file = ctx.imagePath(imageId)
      const { dir, packId } = await activePack()
      const [r] = await client.call('caption', { packDir: dir, inputs: [{ file, references }], options })
      const out = captionOutput(imageId, packId, r)
      if (out instanceof Error) throw out
      return out
    },

    'engine.vqa': async ({ imageId, question, answers, type, template, align }) => {
      const file = ctx.imagePath(imageId)
      return client.call('vqa', { packDir: await activeDir(), file, request: { question, answers, type, template, align } })
    },

    'engine.gap': async ({ pairs, fractions }) => {
      const dir = await activeDir()
      return client.call('gap', { packDir: dir, pairs: pairs.map((p) => ({ file: ctx.imagePath(p.imageId), caption: p.caption })), fractions })
    },

    'engine.regionSimilarity': async ({ imageId, captions, mode, mixup }) => {
      const r = await client.call('regionSimilarity', { packDir: await activeDir(), file: ctx.imagePath(imageId), captions, mode, mixup })
      return { imageId, heatmap: r.heatmap, captions: r.captions }
    },

    'engine.score': async ({ imageId, captions, align, references }) => {
      const scores = await client.call('score', { packDir: await activeDir(), file: ctx.imagePath(imageId), captions, align, references })
      return { imageId, scores }
    },

    'engine.fitRealignment': async ({ pairs, method, lambda, activate }) => {
      const dir = await activeDir()
      const { skipped, ...realignment } = await client.call('fitRealignment', { packDir: dir, pairs: pairs.map((p) => ({ file: ctx.imagePath(p.imageId), caption: p.caption })), method, lambda, activate })
      return { realignment, skipped }
    },

    'engine.setRealignment': async ({ method, realignment }) => {
      await client.call('setRealignment', { packDir: await activeDir(), method, realignment })
      return { ok: true as const }
    }
  }

  async function captionMany(imageIds: readonly number[], options: Record<string, unknown>, signal?: AbortSignal): Promise<CaptionManyResult[]> {
    const files: (string | Error)[] = imageIds.map((id) => {
      try {
        return ctx.imagePath(id)
      } catch (err) {
        return err as Error
      }
    })
    const inputs = files.flatMap((f) => (typeof f === 'string' ? [{ file: f }] : []))
    const { dir, packId } = await activePack()
    const out = inputs.length ? await client.call('caption', { packDir: dir, inputs, options }, { signal }) : []
    let k = 0
    return imageIds.map((imageId, i) => {
      const f = files[i]!
      if (typeof f !== 'string') return f
      return captionOutput(imageId, packId, out[k++])
    })
  }

  return { handlers, captionMany }
}
