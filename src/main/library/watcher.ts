// Main process (plain Node). Watches the library roots with chokidar so new, moved and deleted images
// appear without a manual rescan, and reports sidecars (.txt, .caption, .xmp) another program wrote.
// [Note: library watching] Events are only triggers: an image event schedules a rescan of its root (the
// scanner already tells new, changed, moved and missing files apart, hashing only files whose size or mtime
// changed), debounced so a copy of 1,000 photos is one rescan, not 1,000. A sidecar event is handed on (to
// sidecar-offers.ts, which decides whether re-importing it would change anything). Hidden entries and the
// exporters' temporary files are ignored; symlinks are not followed (as in the scanner). awaitWriteFinish
// holds an event until the file stopped growing, so a half-copied photo is not scanned.
import { watch, type FSWatcher } from 'chokidar'
import { basename, extname, relative, isAbsolute } from 'node:path'
import { isImageFile } from './image-types'

export const SIDECAR_EXTS = new Set(['.txt', '.caption', '.xmp'])

export interface WatchRoot {
  id: number
  path: string
}

export interface WatcherHooks {
  /** Images under this root were added, changed or removed (debounced per root). */
  onImages(rootId: number): void
  /** A sidecar was added or changed (debounced per file). */
  onSidecar(rootId: number, path: string): void
}

export interface WatcherOptions {
  debounceMs?: number
  /** Poll instead of inotify/FSEvents (network shares). */
  usePolling?: boolean
}

export class LibraryWatcher {
  private watcher: FSWatcher | null = null
  private roots: WatchRoot[] = []
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly debounceMs: number

  constructor(
    private readonly hooks: WatcherHooks,
    private readonly opts: WatcherOptions = {}
  ) {
    this.debounceMs = opts.debounceMs ?? 400
  }

  get watching(): boolean {
    return this.watcher !== null
  }

  /** Watch exactly these roots (replacing any earlier set); resolves once the initial tree is read. */
  async start(roots: readonly WatchRoot[]): Promise<void> {
    await this.stop()
    this.roots = [...roots].sort((a, b) => b.path.length - a.path.length)
    if (roots.length === 0) return
    const w = watch(
      roots.map((r) => r.path),
      {
        ignoreInitial: true,
        followSymlinks: false,
        ignored: (p: string) => basename(p).startsWith('.') || p.endsWith('.tmp'),
        awaitWriteFinish: { stabilityThreshold: 250, pollInterval: 50 },
        ...(this.opts.usePolling ? { usePolling: true, interval: 200 } : {})
      }
    )
    this.watcher = w
    const onFile = (path: string | Error, removed: boolean) => {
      if (typeof path !== 'string') return
      const root = this.rootOf(path)
      if (!root) return
      if (isImageFile(path)) this.debounce(`img:${root.id}`, () => this.hooks.onImages(root.id))
      else if (!removed && SIDECAR_EXTS.has(extname(path).toLowerCase())) this.debounce(`side:${path}`, () => this.hooks.onSidecar(root.id, path))
    }
    w.on('add', (p) => onFile(p, false))
    w.on('change', (p) => onFile(p, false))
    w.on('unlink', (p) => onFile(p, true))
    // A removed or renamed folder: its images are gone from there (the rescan marks them missing or moved).
    w.on('unlinkDir', (p) => {
      const root = typeof p === 'string' ? this.rootOf(p) : undefined
      if (root) this.debounce(`img:${root.id}`, () => this.hooks.onImages(root.id))
    })
    w.on('error', (err) => process.stderr.write(`library watcher: ${(err as Error).message}\n`))
    await new Promise<void>((resolve) => w.once('ready', () => resolve()))
  }

  async stop(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    const w = this.watcher
    this.watcher = null
    if (w) await w.close()
  }

  private rootOf(path: string): WatchRoot | undefined {
    return this.roots.find((r) => {
      const rel = relative(r.path, path)
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
    })
  }

  private debounce(key: string, fn: () => void): void {
    const t = this.timers.get(key)
    if (t) clearTimeout(t)
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key)
        fn()
      }, this.debounceMs)
    )
  }
}
