// Main process (plain Node). [Note: media trust] The only way a file leaves the library over the media
// protocol (Electron) or the /media route (serve): its real path (symlinks resolved) must lie inside the
// real path of a live library root, and the file itself must not be a symlink (the scanner never follows one:
// a link row is an error row, [Note: walk problems], and what it points at is not served or captioned
// through it). Pure apart from realpath and lstat, and unit-tested for traversal and escapes.
import { lstatSync, realpathSync } from 'node:fs'
import { lstat, realpath } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'

export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' ? false : !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..')
}

/** Resolves `relPath` under `root` and returns the real path, or null if it escapes the root (by `..`,
 *  an absolute path, or a symlink pointing outside), is itself a symlink, or does not exist. */
export async function resolveUnderRoot(root: string, relPath: string): Promise<string | null> {
  if (relPath.includes('\0')) return null
  const candidate = resolve(root, relPath)
  if (!isInside(resolve(root), candidate)) return null
  try {
    if ((await lstat(candidate)).isSymbolicLink()) return null
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(candidate)])
    return isInside(realRoot, realFile) ? realFile : null
  } catch {
    return null
  }
}

/** Synchronous twin of resolveUnderRoot (same rule), for callers that need a path without awaiting. */
export function resolveUnderRootSync(root: string, relPath: string): string | null {
  if (relPath.includes('\0')) return null
  const candidate = resolve(root, relPath)
  if (!isInside(resolve(root), candidate)) return null
  try {
    if (lstatSync(candidate).isSymbolicLink()) return null
    const realFile = realpathSync(candidate)
    return isInside(realpathSync(root), realFile) ? realFile : null
  } catch {
    return null
  }
}
