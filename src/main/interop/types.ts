// Main process (plain Node). What the importers produce: records that point at an image (by a path, a
// sidecar name or an image id) with the captions and keywords found for it, and per-file issues.
import type { ImportFormat } from '@shared/contract/interop'

export type { ImportFormat }

/** How a record finds its image (see library-index.ts, [Note: import matching]). */
export type Target =
  /** A dataset file names the image: `abs` is file_name resolved against the images folder, `rel` the
   *  file_name as written (tried as a path relative to a library root when `abs` is not in the library). */
  | { kind: 'file'; abs: string; rel: string }
  /** A sidecar: `abs` is its path without the sidecar extension (photo.jpg.xmp → photo.jpg, photo.txt →
   *  photo); `mirrorRel` the same relative to the imported folder, for a folder that mirrors a root. */
  | { kind: 'sidecar'; abs: string; mirrorRel: string | null }
  /** Metadata read from the image itself. */
  | { kind: 'image'; imageId: number }

export interface ImportRecord {
  /** The file the record was read from. */
  file: string
  /** Where in it: "line 7", "annotation 12", "row 3". */
  where?: string
  target: Target
  /** Captions in the order found; the first becomes the accepted caption, the rest candidates. */
  captions: string[]
  keywords: string[]
  /** A sidecar matched by its full image name (photo.jpg.xmp) outranks one matched by stem (photo.xmp). */
  rank?: number
}

export interface ImportIssue {
  file: string
  where?: string
  message: string
}

export interface SourceRead {
  /** Files read (or attempted). */
  files: number
  records: ImportRecord[]
  errors: ImportIssue[]
  /** Records with neither a caption nor a keyword (an empty sidecar). */
  empty: number
}

export function emptyRead(): SourceRead {
  return { files: 0, records: [], errors: [], empty: 0 }
}

export function issue(file: string, err: unknown, where?: string): ImportIssue {
  return { file, ...(where ? { where } : {}), message: err instanceof Error ? err.message : String(err) }
}
