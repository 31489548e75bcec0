// Main process / serve / CLI (plain Node). Handlers of `models.catalog`, `models.addCatalog` and `models.get`,
// and the host's one PackBuilder ([Note: pinned catalog], [Note: staged jobs]).
// Catalog files, in order (a later entry replaces an earlier one with its id): the shipped models/catalog.json,
// `STUDIO_CATALOG` (a path list), the host's `--catalog` files, and the ones added in the model manager
// (remembered in `<dataDir>/catalogs.json`).
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { delimiter, join, resolve } from 'node:path'
import * as v from 'valibot'
import type { CatalogEntrySummary } from '@shared/contract/catalog'
import type { Handlers } from '../services/dispatch'
import type { ServiceContext } from '../services/context'
import { EngineClient, type EngineCaller } from '../engine/client'
import { downloadBytes, fileUrl, hubEndpoint, loadCatalogs, readCatalogFile, type LoadedCatalogEntry } from '../engine/packs/catalog'
import { readPackJson } from '../engine/packs/pack'
import { checkDomain } from './domain-guard'
import { hostAbsolutePath } from '../services/user-path'
import { PackBuilder } from './pack-builder'
import { photoPackId } from './pack-build-stages'

type CatalogHandlers = Pick<Handlers, 'models.catalog' | 'models.addCatalog' | 'models.get' | 'models.domainCheck'>

export interface CatalogServiceOptions {
  ctx: ServiceContext
  /** The shipped catalog (models/catalog.json under the app root). */
  shippedCatalog: string
  /** Catalog files given to this host (`--catalog`). */
  catalogFiles?: readonly string[]
  vocabFile: string
  packsDir: string
  /** Which packs exist (to show "installed"). */
  installedPackIds(): Promise<Set<string>>
  installed(packId: string, dir: string, activate: boolean): Promise<void>
  /** The active pack's folder, or null when none is usable. */
  activePack(): Promise<{ id: string; dir: string } | null>
  /** The bundled demo pack's folder (for "Open the demo library"), if bundled. */
  demoPackDir: string | null
  /** Engine for builds (default: a fresh worker per build). */
  buildEngine?: () => EngineCaller
  download?: { retries?: number; idleTimeoutMs?: number; backoffMs?: number }
}

const Saved = v.object({ catalogs: v.array(v.string()) })

export function createCatalogService(opts: CatalogServiceOptions): { handlers: CatalogHandlers; builder: PackBuilder; entries(): Promise<LoadedCatalogEntry[]> } {
  const savedFile = join(opts.ctx.dataDir, 'catalogs.json')

  async function saved(): Promise<string[]> {
    try {
      const p = v.safeParse(Saved, JSON.parse(await readFile(savedFile, 'utf8')))
      return p.success ? p.output.catalogs : []
    } catch {
      return []
    }
  }

  async function files(): Promise<string[]> {
    const env = (process.env.STUDIO_CATALOG ?? '').split(delimiter).filter(Boolean)
    return [...new Set([opts.shippedCatalog, ...env, ...(opts.catalogFiles ?? []), ...(await saved())].map((f) => resolve(f)))]
  }

  async function load() {
    return loadCatalogs(await files())
  }

  async function entries(): Promise<LoadedCatalogEntry[]> {
    return (await load()).entries
  }

  async function summary() {
    const { entries: list, problems } = await load()
    const have = await opts.installedPackIds()
    const out: CatalogEntrySummary[] = list.map((e) => {
      const packId = e.kind === 'clip' ? photoPackId(e) : null
      return {
        id: e.id,
        kind: e.kind,
        title: e.title,
        licence: e.licence,
        caveat: e.caveat ?? null,
        enables: e.enables,
        downloadBytes: downloadBytes(e),
        approxCaptions: e.approxCaptions ?? null,
        source: e.source.hub === 'huggingface' ? `${e.source.repo}@${e.source.revision.slice(0, 7)}` : fileUrl(e, e.files[0]!),
        files: e.files.map((f) => ({ path: f.path, bytes: f.bytes })),
        from: e.from,
        packId,
        installed: packId !== null && have.has(packId)
      }
    })
    return { entries: out, catalogs: await files(), problems, hubEndpoint: hubEndpoint() }
  }

  const builder = new PackBuilder({
    ctx: opts.ctx,
    entries,
    packsDir: opts.packsDir,
    vocabFile: opts.vocabFile,
    engine: opts.buildEngine ?? (() => new EngineClient({ intraOpThreads: undefined })),
    installed: opts.installed,
    ...(opts.download ? { download: opts.download } : {})
  })

  const handlers: CatalogHandlers = {
    'models.catalog': () => summary(),
    'models.addCatalog': async ({ path, text, name }) => {
      let file: string
      if (path !== undefined) file = resolve(hostAbsolutePath(path, 'catalog file'))
      else {
        // a picked file's text: validated, then kept in the data folder under a name derived from its content
        const dir = join(opts.ctx.dataDir, 'catalogs')
        await mkdir(dir, { recursive: true })
        const safe = (name ?? 'catalog').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/\.json$/i, '').slice(0, 60) || 'catalog'
        file = join(dir, `${safe}-${createHash('sha256').update(text!).digest('hex').slice(0, 8)}.json`)
        const tmp = `${file}.tmp`
        await writeFile(tmp, text!)
        try {
          await readCatalogFile(tmp)
        } catch (err) {
          await rm(tmp, { force: true })
          throw err
        }
        await rename(tmp, file)
      }
      await readCatalogFile(file) // refuse a bad file before remembering it
      const list = [...new Set([...(await saved()), file])]
      await mkdir(opts.ctx.dataDir, { recursive: true })
      const tmp = `${savedFile}.tmp`
      await writeFile(tmp, JSON.stringify({ catalogs: list }))
      await rename(tmp, savedFile)
      return summary()
    },
    'models.get': (req) => builder.enqueue(req),
    'models.domainCheck': async () => {
      const roots = opts.ctx.images.liveRoots().map((r) => r.path)
      const demo = opts.demoPackDir ? await readPackJson(opts.demoPackDir).catch(() => null) : null
      const demoLibrary = demo?.samples ? join(opts.demoPackDir!, demo.samples.dir) : null
      const active = await opts.activePack()
      const json = active ? await readPackJson(active.dir).catch(() => null) : null
      return checkDomain(active && json ? { id: json.id, dir: active.dir, ...(json.domain ? { domain: json.domain } : {}), ...(json.samples ? { samplesDir: json.samples.dir } : {}) } : null, roots, demoLibrary)
    }
  }
  return { handlers, builder, entries }
}
