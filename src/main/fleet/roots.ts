// Host side (plain Node: the fleet worker). [Note: fleet roots] How a worker finds the pixels: a job names
// each image by the producer's absolute path; the worker owns a map of path prefixes, `studio prefix =
// local folder` (`--roots /studio/photos=/mnt/photos`, the same share mounted elsewhere). A path is mapped
// by its longest matching prefix and then resolved with the library's own trust rule (safe-path.ts): the
// real path, symlinks resolved, must lie inside the real path of the mapped local folder. A path under no
// prefix, or one that escapes by `..` or a symlink, is refused: a worker never reads outside its roots.
import { lstat } from 'node:fs/promises'
import { isAbsolute, posix } from 'node:path'
import { StudioError } from '@shared/errors'
import { resolveUnderRoot } from '../library/safe-path'

export interface RootMapping {
  /** Prefix of the producer's paths, normalised to forward slashes without a trailing one. */
  from: string
  /** Local folder on the worker. */
  to: string
}

const norm = (p: string): string => {
  const s = posix.normalize(p.replace(/\\/g, '/'))
  return s.length > 1 ? s.replace(/\/+$/, '') : s
}

/** `from=to[,from=to…]`, possibly given several times; each side must be an absolute path. */
export function parseRoots(values: readonly string[]): RootMapping[] {
  const out: RootMapping[] = []
  for (const value of values) {
    for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = part.indexOf('=')
      if (eq <= 0 || eq === part.length - 1) throw new StudioError('invalid_input', `--roots: "${part}" is not PRODUCER_PREFIX=LOCAL_FOLDER`)
      const from = part.slice(0, eq).trim()
      const to = part.slice(eq + 1).trim()
      if (!isAbsolute(from) && !/^[A-Za-z]:[\\/]/.test(from)) throw new StudioError('invalid_input', `--roots: "${from}" is not an absolute path`)
      if (!isAbsolute(to)) throw new StudioError('invalid_input', `--roots: "${to}" is not an absolute path`)
      out.push({ from: norm(from), to })
    }
  }
  return out
}

/** The mapping whose prefix is the longest one containing `path` (equal paths count), and the rest. */
function match(roots: readonly RootMapping[], path: string): { root: RootMapping; rel: string } | null {
  const p = norm(path)
  let best: { root: RootMapping; rel: string } | null = null
  for (const r of roots) {
    const inside = r.from === '/' ? p.startsWith('/') : p === r.from || p.startsWith(r.from + '/')
    if (!inside || (best && best.root.from.length >= r.from.length)) continue
    best = { root: r, rel: r.from === '/' ? p.slice(1) : p.slice(r.from.length + 1) }
  }
  return best
}

/** The real local path of the producer's `path`, or `unauthorized` when it lies outside every root (or
 *  escapes one), `not_found` when it is inside a root but missing. */
export async function mapPath(roots: readonly RootMapping[], path: string): Promise<string> {
  const m = path.includes('\0') ? null : match(roots, path)
  if (!m || m.rel.split('/').includes('..')) throw new StudioError('unauthorized', `${path} is outside this worker's roots (${roots.map((r) => r.from).join(', ') || 'none'})`)
  const real = await resolveUnderRoot(m.root.to, m.rel || '.')
  if (real) return real
  // tell "missing" from "escapes by a symlink": the unresolved path exists only in the second case
  const exists = await lstat(posix.join(m.root.to, m.rel)).then(() => true, () => false)
  if (exists) throw new StudioError('unauthorized', `${path} resolves outside this worker's root ${m.root.to}`)
  throw new StudioError('not_found', `${path} is not on this worker (looked at ${posix.join(m.root.to, m.rel)})`)
}
