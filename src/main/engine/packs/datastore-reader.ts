// Any process (plain Node; the usearch module loads only for a datastore that has an index). Opens a
// compact datastore (`caption-studio-datastore/1`, datastore-format.ts) after its files passed sha256
// verification: checks every header against pack.json, loads the captions table, the row scales and either
// all int8 rows (small datastores, brute-force search) or a memory-mapped index plus a file handle from which
// the candidate rows of a query are read for exact re-scoring.
// [Note: datastore memory] With an index, the resident part is the captions (blob + offsets + source ids,
// ~35 MB for COCO), the scales (4 B/row) and whatever pages of the mmapped index the searches touched (all
// of it after enough queries); the int8 rows of the vectors file are never held: a query reads its
// candidates (40 for i8, 200 for b1; 512 B each) with pread, from the OS page cache once warm. Measured by
// the bench in a child process (docs/benchmarks.md, "retrieval").
import { closeSync, openSync, readSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StudioError } from '@shared/errors'
import { captionAt, checkVectorsHeader, HEADER_BYTES, parseCaptions, type CaptionTable } from './datastore-format'
import { CANDIDATES, exactScanner, openIndex, type AnnIndex } from './datastore-index'
import type { CompactDatastoreSpec, DatastoreSource } from './pack-schema'

export interface CompactDatastore {
  rows: number
  dim: number
  /** Per-row scale: x ≈ scale·q. */
  scales: Float32Array
  /** 'index' when an ANN index answers, 'exact' for a brute-force scan over rows in memory. */
  mode: 'index' | 'exact'
  /** How many candidates to re-score for a top-k (depends on how coarse the candidate ranking is). */
  candidateCount(k: number): number
  caption(row: number): string
  source(row: number): DatastoreSource | null
  /** The int8 row into `out` (length dim); from memory or read from the vectors file. */
  rowInto(row: number, out: Int8Array): Int8Array
  /** Candidate rows for a float query, nearest first by the index's coding (or the int8 cosine). */
  candidates(q: Float32Array, k: number): number[]
  close(): void
}

async function readAt(path: string, file: string, offset: number, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch(() => {
    throw new StudioError('not_found', `${file}: missing`)
  })
  try {
    const buf = Buffer.alloc(bytes)
    const { bytesRead } = await fh.read(buf, 0, bytes, offset)
    if (bytesRead !== bytes) throw new StudioError('model_error', `${file}: truncated (read ${bytesRead} of ${bytes} bytes at ${offset})`)
    return buf
  } finally {
    await fh.close()
  }
}

async function fileSize(path: string, file: string): Promise<number> {
  const fh = await open(path, 'r').catch(() => {
    throw new StudioError('not_found', `${file}: missing`)
  })
  try {
    return (await fh.stat()).size
  } finally {
    await fh.close()
  }
}

function floatsLE(buf: Buffer, n: number): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(4 * i)
  return out
}

export async function openCompactDatastore(dir: string, spec: CompactDatastoreSpec, dim: number): Promise<CompactDatastore> {
  const rows = spec.rows
  const vecPath = join(dir, spec.vectors)
  const size = await fileSize(vecPath, spec.vectors)
  const layout = checkVectorsHeader(await readAt(vecPath, spec.vectors, 0, Math.min(HEADER_BYTES, size)), size, spec.vectors, { rows, dim })
  const scales = floatsLE(await readAt(vecPath, spec.vectors, layout.scalesOffset, rows * 4), rows)
  for (let i = 0; i < rows; i++) {
    if (!(scales[i]! >= 0) || !Number.isFinite(scales[i]!)) throw new StudioError('model_error', `${spec.vectors}: row ${i} has scale ${scales[i]} (corrupted)`)
  }
  const byId = new Map(spec.sources.map((s) => [s.id, s]))
  let table: CaptionTable
  try {
    table = parseCaptions(await readFile(join(dir, spec.captions)), spec.captions, rows, new Set(byId.keys()))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StudioError('not_found', `${spec.captions}: missing`)
    throw err
  }
  const caption = (row: number) => captionAt(table, row)
  const source = (row: number) => byId.get(table.sourceIds[row]!) ?? null

  if (!spec.index) {
    const all = await readAt(vecPath, spec.vectors, layout.rowsOffset, rows * dim)
    const data = new Int8Array(all.buffer, all.byteOffset, rows * dim)
    const scan: AnnIndex = await exactScanner(data, rows, dim)
    return {
      rows, dim, scales, mode: 'exact', caption, source, candidateCount: CANDIDATES.i8,
      rowInto: (row, out) => {
        out.set(data.subarray(row * dim, (row + 1) * dim))
        return out
      },
      candidates: (q, k) => scan.search(q, k),
      close: () => {}
    }
  }
  const index = await openIndex(dir, spec.index, rows, dim)
  let fd: number | null = openSync(vecPath, 'r')
  return {
    rows, dim, scales, mode: 'index', caption, source, candidateCount: CANDIDATES[spec.index.quantization],
    rowInto: (row, out) => {
      if (fd === null) throw new StudioError('internal', 'datastore is closed')
      const view = Buffer.from(out.buffer, out.byteOffset, dim)
      const n = readSync(fd, view, 0, dim, layout.rowsOffset + row * dim)
      if (n !== dim) throw new StudioError('model_error', `${spec.vectors}: short read of row ${row}`)
      return out
    },
    candidates: (q, k) => index.search(q, k),
    close: () => {
      if (fd !== null) closeSync(fd)
      fd = null
    }
  }
}
