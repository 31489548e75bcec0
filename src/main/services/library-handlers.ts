// Main process / serve / CLI (plain Node). Handlers of the library domain: roots, scans, grid queries.
import { realpath, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { ImageSummary, Root, ScanResult } from '@shared/contract/library'
import { StudioError } from '@shared/errors'
import { hostAbsolutePath } from './user-path'
import { scanRoot, type ScanOptions } from '../library/scanner'
import type { ImageWithCaption } from '../store/images-repo'
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'

type LibraryHandlers = Pick<Handlers, `library.${string}` & keyof Handlers>

export function mediaUrls(id: number, hash: string): { thumbUrl: string; imageUrl: string } {
  const v = hash.slice(0, 12)
  return { thumbUrl: `/media/thumb/${id}?v=${v}`, imageUrl: `/media/image/${id}?v=${v}` }
}

export function toSummary(r: ImageWithCaption): ImageSummary {
  return {
    id: r.id,
    rootId: r.root_id,
    relPath: r.rel_path,
    fileName: basename(r.rel_path),
    width: r.width,
    height: r.height,
    hash: r.hash,
    missing: r.missing === 1,
    error: r.error,
    caption: r.caption,
    captionStatus: r.caption_status,
    ...mediaUrls(r.id, r.hash)
  }
}

export class ScanManager {
  private readonly running = new Map<number, { promise: Promise<ScanResult>; abort: AbortController }>()
  private readonly last = new Map<number, ScanResult>()
  constructor(
    private readonly ctx: ServiceContext,
    private readonly options: ScanOptions = {}
  ) {}

  isScanning(rootId: number): boolean {
    return this.running.has(rootId)
  }

  start(rootId: number, path: string): void {
    if (this.running.has(rootId)) return
    const abort = new AbortController()
    const promise = scanRoot(this.ctx, rootId, path, abort.signal, this.options)
      .then((r) => {
        this.last.set(rootId, r)
        return r
      })
      .catch((err: unknown) => {
        this.ctx.emit({ type: 'library.scan', rootId, phase: 'failed', seen: 0, added: 0, errors: 1, message: (err as Error).message })
        const r: ScanResult = { rootId, seen: 0, added: 0, changed: 0, moved: 0, missing: 0, duplicates: 0, errors: 1, skipped: 0, problems: [{ path: '', message: (err as Error).message }] }
        this.last.set(rootId, r)
        return r
      })
      .finally(() => this.running.delete(rootId))
    this.running.set(rootId, { promise, abort })
  }

  cancel(rootId: number): void {
    this.running.get(rootId)?.abort.abort()
  }

  async waitAll(): Promise<ScanResult[]> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.promise))
    return [...this.last.values()]
  }
}

export function createLibraryHandlers(ctx: ServiceContext, scans: ScanManager): LibraryHandlers {
  const rootInfo = (id: number): Root => {
    const r = ctx.images.root(id)
    if (!r) throw new StudioError('not_found', `root ${id} not found`)
    return { id: r.id, path: r.path, addedAt: r.added_at, imageCount: ctx.images.imageCount(r.id), scanning: scans.isScanning(r.id) }
  }
  return {
    'library.listRoots': () => ctx.images.liveRoots().map((r) => rootInfo(r.id)),
    'library.addRoot': async ({ path }) => {
      hostAbsolutePath(path, 'library folder')
      let real: string
      try {
        real = await realpath(path)
        if (!(await stat(real)).isDirectory()) throw new Error('not a folder')
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : (err as Error).message
        throw new StudioError('invalid_input', `cannot add "${path}": ${why}`)
      }
      const root = ctx.images.addRoot(real)
      scans.start(root.id, real)
      ctx.emit({ type: 'library.changed' })
      return rootInfo(root.id)
    },
    'library.removeRoot': ({ rootId }) => {
      rootInfo(rootId)
      scans.cancel(rootId)
      ctx.images.removeRoot(rootId)
      ctx.emit({ type: 'library.changed' })
      return { ok: true as const }
    },
    'library.rescan': ({ rootId }) => {
      const r = rootInfo(rootId)
      scans.start(r.id, r.path)
      return { ok: true as const }
    },
    'library.waitForScans': () => scans.waitAll(),
    'library.listIds': async ({ filter, search }) => ({ ids: await ctx.images.listIdsPaged(filter, search) }),
    'library.getImages': ({ ids }) => ctx.images.withCaptions(ids).map(toSummary),
    'library.getImage': ({ id }) => {
      const [row] = ctx.images.withCaptions([id])
      if (!row) throw new StudioError('not_found', `image ${id} not found`)
      const root = ctx.images.root(row.root_id)!
      return {
        ...toSummary(row),
        absPath: `${root.path}/${row.rel_path}`,
        bytes: row.bytes,
        mtimeMs: row.mtime_ms,
        orientation: row.orientation,
        format: row.format,
        duplicates: ctx.images.duplicatesOf(id).map((d) => d.rel_path)
      }
    },
    'library.visible': ({ ids }) => ({ prioritized: ctx.thumbQueue.prioritize(ids) }),
    'library.counts': () => ctx.images.countsPaged(),
    'library.nextUncaptioned': ({ afterId }) => ({ id: ctx.images.nextUncaptioned(afterId) })
  }
}
