// Main process (plain Node). An in-memory index of the library's images for matching imported records.
// [Note: import matching] Loaded once per import (50,000 rows are a few MB). A record finds its image:
// - by path (datasets): file_name resolved against the images folder must be a library image; otherwise
//   file_name is tried as a path relative to each library root (the studio's own exports into a chosen
//   folder write root-relative names), and more than one root matching is reported as ambiguous;
// - by sidecar name: inside a root, `photo.jpg.xmp`/`photo.jpg.txt` match the image `photo.jpg` exactly,
//   and `photo.xmp`/`photo.txt` the one image whose name without extension is `photo` (`photo.jpg` next to
//   `photo.png` is ambiguous and reported, as the exporters do); outside every root the imported folder is
//   taken as a mirror of a root (the txt exporter's `--out` layout) and the same rules apply under it;
// - a duplicate file (same content as an earlier image) stands for its canonical image, whose caption it is.
import { isAbsolute, join, relative, sep } from 'node:path'
import type { DB } from '../store/db'
import type { Target } from './types'

interface Row {
  id: number
  root_id: number
  rel_path: string
  duplicate_of: number | null
}

export interface LibraryImage {
  id: number
  rootId: number
  relPath: string
}

export type Match = { ok: true; image: LibraryImage; exact: boolean } | { ok: false; reason: string }

function stem(rel: string): string {
  const slash = rel.lastIndexOf('/')
  const dot = rel.lastIndexOf('.')
  return dot > slash + 1 ? rel.slice(0, dot) : rel
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/')
}

export class LibraryIndex {
  private readonly roots: { id: number; path: string }[]
  private readonly byRel = new Map<string, Row>()
  private readonly byStem = new Map<string, Row[]>()
  private readonly byId = new Map<number, Row>()

  constructor(db: DB) {
    this.roots = db.prepare(`SELECT id, path FROM roots WHERE removed_at IS NULL ORDER BY length(path) DESC`).all() as { id: number; path: string }[]
    const rows = db.prepare(`SELECT i.id, i.root_id, i.rel_path, i.duplicate_of FROM images i JOIN roots r ON r.id = i.root_id WHERE r.removed_at IS NULL`).all() as Row[]
    for (const r of rows) {
      this.byId.set(r.id, r)
      this.byRel.set(`${r.root_id}\0${r.rel_path}`, r)
      const key = `${r.root_id}\0${stem(r.rel_path)}`
      const list = this.byStem.get(key)
      if (list) list.push(r)
      else this.byStem.set(key, [r])
    }
  }

  get size(): number {
    return this.byId.size
  }

  image(id: number): LibraryImage | undefined {
    const r = this.byId.get(id)
    return r ? this.canonical(r) : undefined
  }

  /** The live root containing `abs` (the deepest one), with the path relative to it. */
  rootOf(abs: string): { rootId: number; rel: string } | null {
    for (const r of this.roots) {
      const rel = relative(r.path, abs)
      if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return { rootId: r.id, rel: toPosix(rel) }
    }
    return null
  }

  hasRoot(rootId: number): boolean {
    return this.roots.some((r) => r.id === rootId)
  }

  rootPath(rootId: number): string {
    return this.roots.find((x) => x.id === rootId)!.path
  }

  /** Library images (canonical ones) whose file lies under `absDir` (or is that file). */
  imagesUnder(absDir: string): LibraryImage[] {
    const out: LibraryImage[] = []
    for (const r of this.byId.values()) {
      if (r.duplicate_of !== null) continue
      const rel = relative(absDir, join(this.rootPath(r.root_id), r.rel_path))
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) out.push(this.canonical(r))
    }
    return out.sort((a, b) => a.rootId - b.rootId || (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0))
  }

  match(target: Target, rootId?: number): Match {
    if (target.kind === 'image') {
      const img = this.image(target.imageId)
      return img ? { ok: true, image: img, exact: true } : { ok: false, reason: `image ${target.imageId} is no longer in the library` }
    }
    const inRoot = this.rootOf(target.abs)
    if (target.kind === 'file') {
      if (inRoot && (rootId === undefined || inRoot.rootId === rootId)) {
        const r = this.byRel.get(`${inRoot.rootId}\0${inRoot.rel}`)
        if (r) return { ok: true, image: this.canonical(r), exact: true }
      }
      const rel = toPosix(target.rel).replace(/^\.\//, '')
      return this.pick(this.rootIds(rootId).map((id) => this.byRel.get(`${id}\0${rel}`)).filter((r): r is Row => r !== undefined), `no library image at ${target.abs} (nor "${rel}" under a library root)`)
    }
    if (inRoot) {
      if (rootId !== undefined && inRoot.rootId !== rootId) return { ok: false, reason: `not under root ${rootId}` }
      return this.sidecarIn(inRoot.rootId, inRoot.rel)
    }
    if (target.mirrorRel === null) return { ok: false, reason: `not inside a library root` }
    const hits = this.rootIds(rootId)
      .map((id) => this.sidecarIn(id, toPosix(target.mirrorRel!)))
      .filter((m): m is Extract<Match, { ok: true }> => m.ok)
    if (hits.length === 1) return hits[0]!
    if (hits.length > 1) return { ok: false, reason: `matches images in ${hits.length} roots (${hits.map((h) => h.image.relPath).join(', ')}); choose a root` }
    return { ok: false, reason: `no image named like "${target.mirrorRel}" in ${rootId === undefined ? 'any library root' : `root ${rootId}`}` }
  }

  private sidecarIn(rootId: number, relStem: string): Match {
    const exact = this.byRel.get(`${rootId}\0${relStem}`)
    if (exact) return { ok: true, image: this.canonical(exact), exact: true }
    const list = this.byStem.get(`${rootId}\0${relStem}`) ?? []
    if (list.length === 1) return { ok: true, image: this.canonical(list[0]!), exact: false }
    if (list.length > 1) return { ok: false, reason: `ambiguous: ${list.map((r) => r.rel_path).join(', ')} share this name` }
    return { ok: false, reason: `no image named "${relStem}.*"` }
  }

  private pick(rows: Row[], none: string): Match {
    if (rows.length === 1) return { ok: true, image: this.canonical(rows[0]!), exact: true }
    if (rows.length > 1) return { ok: false, reason: `matches images in ${rows.length} roots; choose a root` }
    return { ok: false, reason: none }
  }

  private rootIds(rootId?: number): number[] {
    return rootId !== undefined ? [rootId] : this.roots.map((r) => r.id).sort((a, b) => a - b)
  }

  private canonical(r: Row): LibraryImage {
    const c = r.duplicate_of !== null ? (this.byId.get(r.duplicate_of) ?? r) : r
    return { id: c.id, rootId: c.root_id, relPath: c.rel_path }
  }
}
