// Main process (plain Node). Sidecars another program changed, offered for re-import.
// [Note: sidecar offers] The watcher reports every sidecar write, including the studio's own exports; a
// sidecar is offered only when previewing its import would change something (a new caption, a conflict, a
// keyword or a candidate), so re-exported files and sidecars of images not in the library never nag. A
// sidecar whose image is not scanned yet (photo and sidecar copied together) is evaluated again after the
// next rescan. Offers are in memory: after a restart, a rescan-and-import of the folder does the same.
import { extname } from 'node:path'
import * as v from 'valibot'
import { ImportRequest, type SidecarOffer } from '@shared/contract/interop'
import { planImport, type PlanDeps } from './import-plan'
import { LibraryIndex } from './library-index'
import { readSource } from './import'

const FORMAT: Record<string, SidecarOffer['format']> = { '.txt': 'txt', '.caption': 'caption', '.xmp': 'xmp' }

export class SidecarOffers {
  private readonly offers = new Map<string, SidecarOffer>()
  /** Sidecars whose image was not (yet) in the library: tried again after a rescan. */
  private readonly unmatched = new Map<string, number>()
  private queue: { rootId: number; path: string }[] = []
  private draining: Promise<void> | null = null

  constructor(
    private readonly deps: PlanDeps,
    private readonly notify: (count: number) => void
  ) {}

  list(): SidecarOffer[] {
    return [...this.offers.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
  }

  /** Forget offers for these paths, or for everything under a folder. */
  dismiss(paths: readonly string[]): void {
    const before = this.offers.size
    for (const p of paths) {
      for (const key of [...this.offers.keys()]) if (key === p || key.startsWith(p.endsWith('/') ? p : `${p}/`)) this.offers.delete(key)
    }
    if (this.offers.size !== before) this.notify(this.offers.size)
  }

  consider(rootId: number, path: string): Promise<void> {
    if (!FORMAT[extname(path).toLowerCase()]) return Promise.resolve()
    this.queue.push({ rootId, path })
    return this.drain()
  }

  /** Evaluate again the sidecars that matched no image (call after a rescan). */
  retryUnmatched(): Promise<void> {
    for (const [path, rootId] of this.unmatched) this.queue.push({ rootId, path })
    this.unmatched.clear()
    return this.drain()
  }

  /** Resolves when every queued sidecar has been evaluated. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining
  }

  private drain(): Promise<void> {
    this.draining ??= this.run().finally(() => {
      this.draining = null
    })
    return this.draining
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue
      this.queue = []
      // One index for the whole batch: a folder of 1,000 new sidecars costs one library read.
      const index = new LibraryIndex(this.deps.db)
      for (const { rootId, path } of batch) {
        const format = FORMAT[extname(path).toLowerCase()]!
        const req = v.parse(ImportRequest, { format, path })
        try {
          const plan = planImport(this.deps, index, await readSource(index, req), req)
          const s = plan.summary
          if (s.unmatched > 0 && s.images === 0) this.unmatched.set(path, rootId)
          if (s.newCaptions + s.conflicts + s.keywords + s.candidates > 0) {
            this.offers.set(path, { path, format, rootId, newCaptions: s.newCaptions, conflicts: s.conflicts, keywords: s.keywords, candidates: s.candidates })
          } else this.offers.delete(path)
        } catch {
          // A file that vanished or cannot be read is not offered; an explicit import reports why.
          this.offers.delete(path)
        }
      }
      this.notify(this.offers.size)
    }
  }
}
