// Main process / serve / CLI (plain Node). Which caption packs exist and which one is active.
// Packs come from two places: bundled (`bundledDir`, read-only, e.g. models/ in the repo or the app's
// resources) and installed (`<dataDir>/packs/<id>`, which wins over a bundled pack with the same id). The
// chosen pack id is kept in `<dataDir>/engine.json`; with none chosen (or the chosen one gone or broken),
// `shapes-demo`, else the first valid pack, is active.
// [Note: active pack memo] Every engine call needs the active pack's folder, and finding it scans the pack
// folders and validates each pack.json (a batch job used to pay that twice per image). The answer is
// resolved once and kept until `invalidate()`: choosing a pack (models.activate, install with activate)
// and installing one call it. A pack folder edited by hand is therefore noticed at the next activation or
// restart, not by a timer.
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as v from 'valibot'
import type { PackSummary } from '@shared/contract/models'
import { StudioError } from '@shared/errors'
import { restoreInterruptedSwaps } from '../engine/packs/install'
import { readPackJson } from '../engine/packs/pack'

export interface ActivePack {
  dir: string
  packId: string
  /** pack.json's version: with the id, the embedding space of the pack ([Note: embedding spaces]). */
  version: string
}

export interface PackRegistryOptions {
  dataDir: string
  bundledDir: string
  /** Opens the resolved pack in the engine (once per resolution); returns the id the engine reports. */
  open(dir: string): Promise<{ packId: string; version: string }>
}

const StateFile = v.object({ activeId: v.optional(v.nullable(v.string()), null) })

export class PackRegistry {
  private readonly packsDir: string
  private readonly stateFile: string
  private memo: Promise<ActivePack> | null = null

  constructor(private readonly o: PackRegistryOptions) {
    this.packsDir = join(o.dataDir, 'packs')
    this.stateFile = join(o.dataDir, 'engine.json')
    // a pack swap killed half-way puts its previous version back before anything lists the packs
    restoreInterruptedSwaps(this.packsDir)
  }

  /** Where installs go. */
  get installDir(): string {
    return this.packsDir
  }

  async list(): Promise<{ packs: PackSummary[]; activeId: string | null }> {
    const byId = new Map<string, PackSummary>()
    for (const p of await scan(this.o.bundledDir, 'bundled')) byId.set(p.id, p)
    for (const p of await scan(this.packsDir, 'installed')) byId.set(p.id, p)
    const packs = [...byId.values()]
    const chosen = await this.chosenId()
    const valid = packs.filter((p) => !p.problem)
    const activeId = (chosen && valid.some((p) => p.id === chosen) ? chosen : null) ?? valid.find((p) => p.id === 'shapes-demo')?.id ?? valid[0]?.id ?? null
    for (const p of packs) p.active = p.id === activeId
    return { packs, activeId }
  }

  /** The folder of pack `id`; not_found if there is none, model_error if its pack.json is broken. */
  async dirOf(id: string): Promise<string> {
    const p = (await this.list()).packs.find((x) => x.id === id)
    if (!p) throw new StudioError('not_found', `no pack "${id}" (installed or bundled)`)
    if (p.problem) throw new StudioError('model_error', p.problem)
    return p.dir
  }

  /** The active pack, opened in the engine: resolved on first use, then kept until invalidate(). */
  active(): Promise<ActivePack> {
    if (this.memo) return this.memo
    const p = this.resolveActive()
    this.memo = p
    p.catch(() => {
      if (this.memo === p) this.memo = null
    })
    return p
  }

  /** Forget the resolved active pack (a pack was installed, replaced or chosen). */
  invalidate(): void {
    this.memo = null
  }

  /** Remember `id` as the chosen pack (atomically) and drop the memo. */
  async choose(id: string): Promise<void> {
    this.invalidate()
    await mkdir(this.o.dataDir, { recursive: true })
    const tmp = `${this.stateFile}.tmp`
    await writeFile(tmp, JSON.stringify({ activeId: id }))
    await rename(tmp, this.stateFile)
  }

  private async resolveActive(): Promise<ActivePack> {
    const { activeId } = await this.list()
    if (!activeId) throw new StudioError('not_found', 'no caption pack is installed: install one with models.install')
    const dir = await this.dirOf(activeId)
    const { packId, version } = await this.o.open(dir)
    return { dir, packId, version }
  }

  private async chosenId(): Promise<string | null> {
    try {
      const parsed = v.safeParse(StateFile, JSON.parse(await readFile(this.stateFile, 'utf8')))
      return parsed.success ? parsed.output.activeId : null
    } catch {
      return null
    }
  }
}

async function scan(dir: string, origin: PackSummary['origin']): Promise<PackSummary[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const out: PackSummary[] = []
  for (const n of names.sort()) {
    if (n.startsWith('.') || !existsSync(join(dir, n, 'pack.json'))) continue
    const packDir = join(dir, n)
    try {
      const j = await readPackJson(packDir)
      out.push({ id: j.id, version: j.version, description: j.description ?? null, licence: j.licence ?? null, dir: packDir, origin, active: false, embedDim: j.embedDim, decoders: j.decoders.map((d) => d.id), problem: null })
    } catch (err) {
      out.push({ id: n, version: '', description: null, licence: null, dir: packDir, origin, active: false, embedDim: 0, decoders: [], problem: (err as Error).message })
    }
  }
  return out
}
