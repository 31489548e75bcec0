// Main process (plain Node). A streaming recursive directory walk: directories are read entry by entry with
// fs.opendir and only a stack of pending directory paths is held, never a full listing, so 50,000 files
// cost constant memory per directory. Symlinks are not followed (no loops, no escapes from the root), and
// hidden entries (names starting with '.') are skipped; images are what library/image-types.ts lists.
// [Note: walk problems] What has an image name but cannot be read as one is still yielded, with `problem`
// saying why, so the scanner records it as that file's error instead of dropping it silently: a symlink
// (never followed), a FIFO, socket or device (reading a FIFO blocks forever), a name that is not valid
// UTF-8 (the database, the contract and JSON hold UTF-8: such a file cannot be named, only reported under
// its lossy name). A folder that cannot be opened (permissions, a path past PATH_MAX, a name that is not
// valid UTF-8) goes to `onDirError`.
import { opendir } from 'node:fs/promises'
import type { Dirent } from 'node:fs'
import { join } from 'node:path'
import { isImageFile } from './image-types'

export interface WalkEntry {
  absPath: string
  /** Path relative to the root, always with '/' separators. */
  relPath: string
  /** Why this image-named entry cannot be read as an image ([Note: walk problems]); absent for files. */
  problem?: string
}

function kindOf(e: Dirent<Buffer>): string {
  if (e.isSymbolicLink()) return 'a symbolic link (links are not followed: they could lead out of the library folder)'
  if (e.isFIFO()) return 'a FIFO, not a file (reading it could block forever)'
  if (e.isSocket()) return 'a socket, not a file'
  if (e.isCharacterDevice() || e.isBlockDevice()) return 'a device, not a file'
  return 'not a regular file'
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
      // Buffer names (the types say BufferEncoding; Node reads 'buffer' too), to tell a UTF-8 name from one that is not
      dir = await opendir(abs, { bufferSize: 64, encoding: 'buffer' as BufferEncoding })
    } catch (err) {
      onDirError?.(abs, err as Error)
      continue
    }
    const subdirs: string[] = []
    try {
      for await (const entry of dir as AsyncIterable<Dirent<Buffer>>) {
        const raw = entry.name
        const name = raw.toString('utf8')
        if (name.startsWith('.')) continue
        const childRel = rel ? `${rel}/${name}` : name
        const utf8 = Buffer.from(name, 'utf8').equals(raw)
        if (entry.isDirectory()) {
          if (utf8) subdirs.push(childRel)
          else onDirError?.(join(root, childRel), new Error('the folder name is not valid UTF-8, so its files cannot be named'))
          continue
        }
        if (!accept(name)) continue
        const absPath = join(root, childRel)
        if (!utf8) yield { absPath, relPath: childRel, problem: 'the file name is not valid UTF-8: the studio cannot name it (rename the file)' }
        else if (entry.isFile()) yield { absPath, relPath: childRel }
        else yield { absPath, relPath: childRel, problem: kindOf(entry) }
      }
    } catch (err) {
      onDirError?.(abs, err as Error)
    }
    // Visit subdirectories in name order (stack: push in reverse).
    subdirs.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    stack.push(...subdirs)
  }
}
