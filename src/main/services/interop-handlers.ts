// Main process / serve / CLI (plain Node). Handlers of the interop domain: import preview and apply, and
// watching the library roots (rescans on image events, offers for changed sidecars).
// The watcher is started by `interop.watch` (the studio window turns it on; one-shot CLI commands never
// do); the host stops it in Services.close().
import { runImport } from '../interop/import'
import { SidecarOffers } from '../interop/sidecar-offers'
import { LibraryWatcher } from '../library/watcher'
import { ReviewRepo } from '../store/review-repo'
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'
import type { ScanManager } from './library-handlers'

type InteropHandlers = Pick<Handlers, `interop.${string}` & keyof Handlers>

export function createInteropHandlers(ctx: ServiceContext, scans: ScanManager): { handlers: InteropHandlers; close(): Promise<void> } {
  const deps = { db: ctx.db, captions: ctx.captions, review: new ReviewRepo(ctx.db) }
  const offers = new SidecarOffers(deps, (count) => ctx.emit({ type: 'interop.sidecars', offers: count }))
  const watcher = new LibraryWatcher({
    onImages: (rootId) => {
      const root = ctx.images.root(rootId)
      if (!root || root.removed_at) return
      scans.start(rootId, root.path)
      void scans.waitAll().then(() => offers.retryUnmatched())
    },
    onSidecar: (rootId, path) => void offers.consider(rootId, path)
  })
  const handlers: InteropHandlers = {
    'interop.importPreview': (req) => runImport(deps, req, false),
    'interop.importApply': async (req) => {
      const summary = await runImport(deps, req, true)
      offers.dismiss([req.path])
      if (summary.newCaptions + summary.replaced + summary.candidates + summary.keywords > 0) ctx.emit({ type: 'library.changed' })
      return summary
    },
    'interop.watch': async ({ enabled }) => {
      const roots = ctx.images.liveRoots().map((r) => ({ id: r.id, path: r.path }))
      if (enabled) await watcher.start(roots)
      else await watcher.stop()
      return { watching: watcher.watching, roots: enabled ? roots.length : 0 }
    },
    'interop.sidecarOffers': async () => {
      await offers.idle()
      return { offers: offers.list() }
    },
    'interop.dismissOffers': ({ paths }) => {
      offers.dismiss(paths)
      return { ok: true as const }
    }
  }
  return { handlers, close: () => watcher.stop() }
}
