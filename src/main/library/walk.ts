// Main process (plain Node). A streaming recursive directory walk: directories are read entry by entry with
// fs.opendir and only a stack of pending directory paths is held, never a full listing, so 50,000 files
// cost constant memory per directory. Symlinks are not followed (no loops, no escapes from the root), and
// hidden entries (names starting with '.') are skipped; images are what library/image-types.ts lists.
import { opendir } from 'node:fs/promises'
import { join } from 'node:path'
import { isImageFile } from './image-types'

export interface WalkEntry {
  absPath: string
  /** Path relative to the root, always with '/' separators. */
  relPath: string
}

export function walkImages(root: string, onDirError?: (dir: string, err: Error) => void): AsyncGenerator<WalkEntry> {
  return walkFiles(root, isImageFile, onDirError)
}

/** The same walk for any files whose name `accept` takes (the interop importers: sidecars, datasets). */
export async function* walkFiles(root: string, accept: (name: string) => boolean, onDirError?: (dir: string, err: Error) => void): AsyncGenerator<WalkEntry> {
  const stack: string[] = ['']
  while (stack.length > 0) {
    const rel = stack.pop()!
    const abs = rel ? join(root, rel) : root
    let dir
    try {
      dir = await opendir(abs, { bufferSize: 64 })
    } catch (err) {
      onDirError?.(abs, err as Error)
      continue
    }
    const subdirs: string[] = []
    for await (const entry of dir) {
      if (entry.name.startsWith('.')) continue
      const childRel = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isDirectory()) subdirs.push(childRel)
      else if (entry.isFile() && accept(entry.name)) yield { absPath: join(root, childRel), relPath: childRel }
    }
    // Visit subdirectories in name order (stack: push in reverse).
    subdirs.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    stack.push(...subdirs)
  }
}
