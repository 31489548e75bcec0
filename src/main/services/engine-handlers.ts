// Main process / serve / CLI (plain Node). The engine service: the `models.*` and `engine.*` operations as
// plain methods, and the handler table over them. [Note: engine handlers] Inference runs in the engine
// worker through an EngineCaller (EngineClient by default); pack installs run here (they are I/O bound)
// and report progress as `models.install` events. Which pack is active is pack-registry.ts's business
// (resolved once, invalidated on install and activation). Verified file hashes are remembered in
// `<dataDir>/pack-verify.json`.
// [Note: crash isolation] The engine runs in its own process, supervised by the EngineClient: a crash or
// a hang fails the request it was running with an EngineCrashError and the engine restarts. A batch
// chunk (several images in one request) that crashed the engine is captioned again one image per
// request, so only an image that crashes the engine by itself fails, with the crash's message; the
// others of the chunk get their captions.
// [Note: handler seams] Other services (captions.suggest, batch jobs, analysis) call these methods, never
// another handler: handlers are only the dispatch table's entry points.
import { join, resolve } from 'node:path'
import type * as v from 'valibot'
import type { CaptionOptionsSchema, engine as engineOps } from '@shared/contract/engine'
import type { StudioEvent } from '@shared/contract/events'
import type { models as modelOps } from '@shared/contract/models'
import { fromEnvelope, StudioError } from '@shared/errors'
import { hostAbsolutePath } from './user-path'
import { EngineClient, EngineCrashError, type EngineCaller } from '../engine/client'
import { installPack, isUrl } from '../engine/packs/install'
import { readPackJson } from '../engine/packs/pack'
import { VerifyCache, verifyFiles } from '../engine/packs/verify'
import { PackRegistry } from './pack-registry'

export interface EngineHandlerContext {
  dataDir: string
  /** Absolute path of a library image, already checked to lie under a library root; throws not_found. */
  imagePath(imageId: number): string
  emit(event: StudioEvent): void
  /** Folder of read-only bundled packs (default: `<cwd>/models`). */
  bundledPacksDir?: string
  /** Engine transport (default: a lazily started engine process, out/main/engine-worker.js). */
  engine?: EngineCaller
  /** [Note: embedding spaces] Every image embedding a caption computed, with its pack space (search keeps it). */
  onEmbedding?(imageId: number, space: { packId: string; version: string }, embedding: Float32Array): void
  /** Answer engine.testFault ([Note: engine faults]); only hosts started for tests (serve --test-ops). */
  testFaults?: boolean
}

type Ops = typeof engineOps & typeof modelOps
type In<K extends keyof Ops> = v.InferOutput<Ops[K]['input']>
type Out<K extends keyof Ops> = v.InferOutput<Ops[K]['output']>
export type EngineHandlers = { [K in keyof Ops]: (input: In<K>) => Promise<Out<K>> }
/** Caption options as the contract parses them (captions.suggest, engine.caption and batch jobs alike). */
export type CaptionOptions = v.InferOutput<typeof CaptionOptionsSchema>
export type CaptionOutput = Out<'engine.caption'>
type RealignMethod = In<'engine.setRealignment'>['method']

/** engine.caption's output for one image, or why that image failed. */
export type CaptionManyResult = CaptionOutput | Error

export interface EngineService {
  handlers: EngineHandlers
  /** The active pack and provider, or why there is none (never throws). */
  status(): Promise<Out<'engine.status'>>
  /** Caption one library image with the active pack. */
  caption(imageId: number, options?: CaptionOptions, references?: string[]): Promise<CaptionOutput>
  /** Batch jobs: several images in one engine request (batched preprocessing and image encoding), one
   *  result or error per image in input order; the signal cancels the request in the worker. */
  captionMany(imageIds: readonly number[], options: CaptionOptions, signal?: AbortSignal): Promise<CaptionManyResult[]>
  gap(pairs: In<'engine.gap'>['pairs'], fractions?: number[]): Promise<Out<'engine.gap'>>
  regionSimilarity(imageId: number, captions: string[], mode?: 'patch' | 'crops', mixup?: boolean): Promise<Out<'engine.regionSimilarity'>>
  /** Load a realignment into the active engine (null: back to the pack's own matrix). */
  setRealignment(method: RealignMethod, realignment: In<'engine.setRealignment'>['realignment']): Promise<void>
  /** Bundled and installed packs, and which one is active. */
  listPacks(): Promise<Out<'models.list'>>
  /** Verify a pack in the worker and make it the active one. */
  activate(id: string): Promise<Out<'models.activate'>>
  /** A pack was installed or replaced on disk outside models.install (the pack builder): forget what the
   *  registry and the worker hold for it. */
  packChanged(dir: string): Promise<void>
  /** A pack's folder, id and version (the active pack without an id), opened in the engine. */
  packSpace(packId?: string): Promise<{ dir: string; packId: string; version: string }>
  /** Global image embeddings of library images with a pack (default: the active one), one per id in order (or its error). */
  embedImages(imageIds: readonly number[], signal?: AbortSignal, packId?: string): Promise<{ space: { packId: string; version: string }; vectors: (Float32Array | Error)[] }>
  /** A search query's text embedding with the active pack, the pack's CLIP prompt (defaults.clipPrefix) first. */
  embedQuery(text: string): Promise<{ space: { packId: string; version: string }; vector: Float32Array }>
}

export function createEngineHandlers(ctx: EngineHandlerContext): EngineHandlers {
  return createEngineService(ctx).handlers
}

export function createEngineService(ctx: EngineHandlerContext): EngineService {
  const client = ctx.engine ?? new EngineClient()
  const verifyCacheFile = join(ctx.dataDir, 'pack-verify.json')
  const packs = new PackRegistry({
    dataDir: ctx.dataDir,
    bundledDir: resolve(ctx.bundledPacksDir ?? join(process.cwd(), 'models')),
    open: (dir) => client.call('open', { packDir: dir, options: { verifyCacheFile } })
  })
  const activeDir = async (): Promise<string> => (await packs.active()).dir
  /** Each image's absolute path, or why it has none (not found, outside the library's roots). */
  const pathsOf = (imageIds: readonly number[]): (string | Error)[] =>
    imageIds.map((id) => {
      try {
        return ctx.imagePath(id)
      } catch (err) {
        return err as Error
      }
    })
  const files = (pairs: readonly { imageId: number; caption: string }[]) => pairs.map((p) => ({ file: ctx.imagePath(p.imageId), caption: p.caption }))
  /** The last status the engine gave: shown while a crashed engine waits for its restart. */
  let lastActive: Out<'engine.status'>['active'] = null
  const supervisor = () => {
    const h = client.health?.()
    return h ? { supervisor: h } : {}
  }

  /** One image's worker result as engine.caption's output, or the error the worker reported for it. */
  function captionOutput(imageId: number, space: { packId: string; version: string }, r: Awaited<ReturnType<typeof client.call<'caption'>>>[number] | undefined): CaptionManyResult {
    if (!r) return new StudioError('internal', 'engine returned no result')
    if ('error' in r) return fromEnvelope(r.error)
    const { file: _f, embedding, ...rest } = r
    const packId = space.packId
    if (embedding && ctx.onEmbedding) {
      try {
        ctx.onEmbedding(imageId, space, embedding)
      } catch (err) {
        process.stderr.write(`could not keep the embedding of image ${imageId}: ${(err as Error).message}\n`)
      }
    }
    return { imageId, packId, ...rest, options: { ...r.options } }
  }

  const service: Omit<EngineService, 'handlers'> = {
    async status() {
      // A crashed engine restarts after its backoff (up to 30 s): the status does not wait for it.
      if ((client.health?.().restartInMs ?? 0) > 0) return { active: lastActive, problem: lastActive ? null : 'the caption engine is restarting', ...supervisor() }
      try {
        const st = await client.call('status', { packDir: await activeDir() })
        const { verify: _v, ...rest } = st
        lastActive = rest
        return { active: rest, problem: null, ...supervisor() }
      } catch (err) {
        return { active: null, problem: (err as Error).message, ...supervisor() }
      }
    },

    async caption(imageId, options = {}, references) {
      const file = ctx.imagePath(imageId)
      const { dir, packId, version } = await packs.active()
      const [r] = await client.call('caption', { packDir: dir, inputs: [{ file, references }], options })
      const out = captionOutput(imageId, { packId, version }, r)
      if (out instanceof Error) throw out
      return out
    },

    async captionMany(imageIds, options, signal) {
      const paths = pathsOf(imageIds)
      const inputs = paths.flatMap((f) => (typeof f === 'string' ? [{ file: f }] : []))
      const { dir, packId, version } = await packs.active()
      const one = (input: { file: string }) => client.call('caption', { packDir: dir, inputs: [input], options }, { signal })
      let out: Awaited<ReturnType<typeof one>> = []
      try {
        if (inputs.length) out = await client.call('caption', { packDir: dir, inputs, options }, { signal })
      } catch (err) {
        if (!(err instanceof EngineCrashError) || inputs.length < 2) throw err
        // [Note: crash isolation] one image per request: only the image that crashes the engine fails
        out = []
        for (const input of inputs) {
          const r = await one(input).catch((e: unknown) => {
            if (e instanceof EngineCrashError) return [{ file: input.file, error: e.toEnvelope() }]
            throw e
          })
          out.push(...r)
        }
      }
      let k = 0
      return imageIds.map((imageId, i) => {
        const f = paths[i]!
        return typeof f === 'string' ? captionOutput(imageId, { packId, version }, out[k++]) : f
      })
    },

    async packSpace(packId) {
      if (packId === undefined) return packs.active()
      const dir = await packs.dirOf(packId)
      const st = await client.call('open', { packDir: dir, options: { verifyCacheFile } })
      return { dir, packId: st.packId, version: st.version }
    },

    async embedImages(imageIds, signal, packId) {
      const paths = pathsOf(imageIds)
      const files = paths.filter((f): f is string => typeof f === 'string')
      const sp = await service.packSpace(packId)
      const { dir, version } = sp
      const out = files.length ? await client.call('embedImages', { packDir: dir, files }, { signal }) : []
      let k = 0
      const vectors = paths.map((f) => {
        if (typeof f !== 'string') return f
        const r = out[k++]
        if (!r) return new StudioError('internal', 'engine returned no embedding')
        return 'error' in r ? fromEnvelope(r.error) : r.embedding
      })
      return { space: { packId: sp.packId, version }, vectors }
    },

    async embedQuery(text) {
      const { dir, packId, version } = await packs.active()
      const st = await client.call('status', { packDir: dir })
      const prefix = typeof st.defaults.clipPrefix === 'string' ? st.defaults.clipPrefix : ''
      const [vector] = await client.call('embedTexts', { packDir: dir, texts: [prefix + text] })
      if (!vector) throw new StudioError('internal', 'engine returned no text embedding')
      return { space: { packId, version }, vector }
    },

    async gap(pairs, fractions) {
      return client.call('gap', { packDir: await activeDir(), pairs: files(pairs), fractions })
    },

    async regionSimilarity(imageId, captions, mode = 'patch', mixup) {
      const r = await client.call('regionSimilarity', { packDir: await activeDir(), file: ctx.imagePath(imageId), captions, mode, mixup })
      return { imageId, heatmap: r.heatmap, captions: r.captions }
    },

    async setRealignment(method, realignment) {
      await client.call('setRealignment', { packDir: await activeDir(), method, realignment })
    },

    listPacks: () => packs.list(),

    async activate(id) {
      const dir = await packs.dirOf(id)
      const t0 = performance.now()
      await client.call('open', { packDir: dir, options: { verifyCacheFile }, warm: true })
      const st = await client.call('status', { packDir: dir })
      await packs.choose(id)
      const { verify: _v, ...active } = st
      lastActive = active
      ctx.emit({ type: 'engine.changed', packId: id })
      return { id, provider: st.provider ?? 'cpu', verifyMs: performance.now() - t0 }
    },

    async packChanged(dir) {
      packs.invalidate()
      await client.call('close', { packDir: dir })
    }
  }

  const handlers: EngineHandlers = {
    'models.list': () => service.listPacks(),

    'models.install': async ({ source, activate }) => {
      if (!isUrl(source)) hostAbsolutePath(source, 'pack folder')
      let packId = ''
      try {
        const r = await installPack(source, packs.installDir, {
          cache: new VerifyCache(verifyCacheFile),
          onProgress: (p) => {
            packId = p.packId
            ctx.emit({ type: 'models.install', source, packId: p.packId, phase: p.phase, file: p.file, received: p.received, total: p.total })
          }
        })
        // A pack replaced on disk must be re-opened by the worker.
        packs.invalidate()
        await client.call('close', { packDir: r.dir })
        if (activate) {
          await packs.choose(r.id)
          ctx.emit({ type: 'engine.changed', packId: r.id })
        }
        return r
      } catch (err) {
        ctx.emit({ type: 'models.install', source, packId, phase: 'failed', received: 0, total: 0, message: (err as Error).message })
        throw err
      }
    },

    'models.activate': ({ id }) => service.activate(id),

    'models.verify': async ({ id }) => {
      const dir = await packs.dirOf(id)
      try {
        const j = await readPackJson(dir)
        const r = await verifyFiles(dir, j.files, new VerifyCache())
        return { id, ok: true, checked: r.checked, hashed: r.hashed, ms: r.ms, problem: null }
      } catch (err) {
        return { id, ok: false, checked: 0, hashed: 0, ms: 0, problem: (err as Error).message }
      }
    },

    'engine.status': () => service.status(),
    'engine.caption': ({ imageId, options, references }) => service.caption(imageId, options, references),
    'engine.gap': ({ pairs, fractions }) => service.gap(pairs, fractions),
    'engine.regionSimilarity': ({ imageId, captions, mode, mixup }) => service.regionSimilarity(imageId, captions, mode, mixup),

    'engine.vqa': async ({ imageId, question, answers, type, template, align }) => {
      const file = ctx.imagePath(imageId)
      return client.call('vqa', { packDir: await activeDir(), file, request: { question, answers, type, template, align } })
    },

    'engine.score': async ({ imageId, captions, align, references }) => {
      const scores = await client.call('score', { packDir: await activeDir(), file: ctx.imagePath(imageId), captions, align, references })
      return { imageId, scores }
    },

    'engine.fitRealignment': async ({ pairs, method, lambda, activate }) => {
      const { skipped, ...realignment } = await client.call('fitRealignment', { packDir: await activeDir(), pairs: files(pairs), method, lambda, activate })
      return { realignment, skipped }
    },

    'engine.testFault': async ({ kind, file, once }) => {
      if (!ctx.testFaults) throw new StudioError('unauthorized', 'engine.testFault is for tests: this studio was not started for tests (serve --test-ops)')
      if (!client.injectFault) throw new StudioError('unsupported', 'this engine runs in the host process: there is no engine process to fault')
      client.injectFault(kind === 'none' ? null : { kind, ...(file ? { file } : {}), ...(once ? { once } : {}) })
      return { ok: true as const }
    },

    'engine.setRealignment': async ({ method, realignment }) => {
      await service.setRealignment(method, realignment)
      return { ok: true as const }
    }
  }

  return { ...service, handlers }
}
