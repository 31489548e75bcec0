// Any process (pure; Buffers only, no I/O). The compact caption datastore `caption-studio-datastore/1`
// (docs/pack-format.md): byte layouts of its two files, their headers, int8 row quantization and the
// tokenizer-independent caption key used for deduplication.
// [Note: compact datastore] A photo pack's datastore holds ~590,000 COCO captions × 512-d. Stored as float32
// and parsed from one JSON array that is 1.2 GB of vectors plus ~100 MB of JS strings, and a query is an
// exact scan of ~300 ms. Here:
// - vectors: int8 with one float32 scale per row (scale = max|x|/127, q = round(x/scale)). Measured on the
//   bench's clustered 512-d vectors (docs/benchmarks.md, "storage format"): |Δcos| against float32 stays
//   far below the gap between neighbours, at 1/4 of float32's bytes and 1/2 of float16's; float16 would be
//   604 MB for 590k rows, over the 400 MB budget before any index. The error bound is derived in
//   `int8Bound` and asserted by test/engine/datastore-format.test.ts.
// - captions: one UTF-8 blob plus a u32 offset table (and a u16 source id per row) at the end of the file.
//   Loading is one read and a monotonicity check of the offsets, no parse; a caption is decoded only when
//   it is retrieved. JSONL would still need a scan for line starts and a JSON.parse per caption.
// Both files put their tables *after* the streamed part (rows, text), so the writer appends while it goes
// and patches the 64-byte header at the end.
import { StudioError } from '@shared/errors'

export const DATASTORE_FORMAT = 'caption-studio-datastore/1'
export const HEADER_BYTES = 64
export const VECTORS_MAGIC = 'CSDSVEC1'
export const CAPTIONS_MAGIC = 'CSDSCAP1'
const VERSION = 1
/** Source ids are stored as u16 per row. */
export const MAX_SOURCE_ID = 0xffff

const align4 = (n: number) => Math.ceil(n / 4) * 4

export interface VectorsLayout {
  rowsOffset: number
  scalesOffset: number
  bytes: number
}

/** header (64) · int8 rows [rows × dim] · pad to 4 · float32 scales [rows] */
export function vectorsLayout(rows: number, dim: number): VectorsLayout {
  const scalesOffset = HEADER_BYTES + align4(rows * dim)
  return { rowsOffset: HEADER_BYTES, scalesOffset, bytes: scalesOffset + rows * 4 }
}

export interface CaptionsLayout {
  blobOffset: number
  offsetsOffset: number
  sourceIdsOffset: number
  bytes: number
}

/** header (64) · UTF-8 blob · pad to 4 · u32 offsets [rows + 1] (into the blob) · u16 source ids [rows] */
export function captionsLayout(rows: number, blobBytes: number): CaptionsLayout {
  const offsetsOffset = HEADER_BYTES + align4(blobBytes)
  const sourceIdsOffset = offsetsOffset + (rows + 1) * 4
  return { blobOffset: HEADER_BYTES, offsetsOffset, sourceIdsOffset, bytes: sourceIdsOffset + rows * 2 }
}

function header(magic: string, fields: number[]): Buffer {
  const b = Buffer.alloc(HEADER_BYTES)
  b.write(magic, 0, 'latin1')
  b.writeUInt32LE(VERSION, 8)
  fields.forEach((f, i) => b.writeUInt32LE(f, 12 + 4 * i))
  return b
}

function readHeader(buf: Buffer, magic: string, file: string, count: number): number[] {
  if (buf.byteLength < HEADER_BYTES) throw new StudioError('model_error', `${file}: ${buf.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte header (truncated?)`)
  if (buf.toString('latin1', 0, 8) !== magic) throw new StudioError('model_error', `${file}: not a ${magic === VECTORS_MAGIC ? 'datastore vectors' : 'datastore captions'} file (magic "${buf.toString('latin1', 0, 8).replace(/[^\x20-\x7e]/g, '?')}", expected "${magic}")`)
  const version = buf.readUInt32LE(8)
  if (version !== VERSION) throw new StudioError('model_error', `${file}: format version ${version}, this studio reads version ${VERSION}`)
  return Array.from({ length: count }, (_, i) => buf.readUInt32LE(12 + 4 * i))
}

export interface VectorsHeader {
  rows: number
  dim: number
}

export const encodeVectorsHeader = (h: VectorsHeader): Buffer => header(VECTORS_MAGIC, [h.rows, h.dim])

/** Parse and check a vectors header against what pack.json declares and the file's size. */
export function checkVectorsHeader(head: Buffer, fileBytes: number, file: string, want: VectorsHeader): VectorsLayout {
  const [rows, dim] = readHeader(head, VECTORS_MAGIC, file, 2) as [number, number]
  if (rows !== want.rows || dim !== want.dim) throw new StudioError('model_error', `${file}: holds ${rows} rows × ${dim}, pack.json declares ${want.rows} × ${want.dim}`)
  const layout = vectorsLayout(rows, dim)
  if (fileBytes !== layout.bytes) throw new StudioError('model_error', `${file}: ${fileBytes} bytes, ${rows} rows × ${dim} need ${layout.bytes} (truncated or padded)`)
  return layout
}

export interface CaptionsHeader {
  rows: number
  blobBytes: number
}

export const encodeCaptionsHeader = (h: CaptionsHeader): Buffer => header(CAPTIONS_MAGIC, [h.rows, h.blobBytes])

export interface CaptionTable {
  rows: number
  blob: Buffer
  offsets: Uint32Array
  sourceIds: Uint16Array
}

/**
 * Parse a whole captions file: header, then the offset table (must start at 0, never decrease and end at
 * the blob's length) and the per-row source ids (each must be one of `sourceIds`). Views, no copies of
 * the blob.
 */
export function parseCaptions(buf: Buffer, file: string, wantRows: number, sourceIds: ReadonlySet<number>): CaptionTable {
  const [rows, blobBytes] = readHeader(buf, CAPTIONS_MAGIC, file, 2) as [number, number]
  if (rows !== wantRows) throw new StudioError('model_error', `${file}: holds ${rows} captions, pack.json declares ${wantRows} rows`)
  const layout = captionsLayout(rows, blobBytes)
  if (buf.byteLength !== layout.bytes) throw new StudioError('model_error', `${file}: ${buf.byteLength} bytes, ${rows} captions with a ${blobBytes}-byte text blob need ${layout.bytes} (truncated or padded)`)
  // Copy the tables into aligned arrays (a Buffer from readFile need not be 4-byte aligned); little-endian.
  const offsets = new Uint32Array(rows + 1)
  for (let i = 0; i <= rows; i++) offsets[i] = buf.readUInt32LE(layout.offsetsOffset + 4 * i)
  if (offsets[0] !== 0 || offsets[rows] !== blobBytes) throw new StudioError('model_error', `${file}: the caption offset table does not span the text blob (corrupted)`)
  for (let i = 0; i < rows; i++) {
    if (offsets[i + 1]! < offsets[i]!) throw new StudioError('model_error', `${file}: caption offset ${i + 1} goes backwards (corrupted)`)
  }
  const ids = new Uint16Array(rows)
  for (let i = 0; i < rows; i++) {
    const id = buf.readUInt16LE(layout.sourceIdsOffset + 2 * i)
    if (!sourceIds.has(id)) throw new StudioError('model_error', `${file}: row ${i} names source id ${id}, which datastore.sources does not declare`)
    ids[i] = id
  }
  return { rows, blob: buf.subarray(layout.blobOffset, layout.blobOffset + blobBytes), offsets, sourceIds: ids }
}

export function captionAt(t: CaptionTable, row: number): string {
  return t.blob.toString('utf8', t.offsets[row]!, t.offsets[row + 1]!)
}

/**
 * Quantize one row to int8 with its own scale: scale = max|x|/127 (0 for a zero row), q = round(x/scale),
 * so q ∈ [−127, 127] and every |x_k − scale·q_k| ≤ scale/2. Writes `dim` values at out[outOff…].
 */
export function quantizeRow(x: ArrayLike<number>, xOff: number, dim: number, out: Int8Array, outOff: number): number {
  let max = 0
  for (let k = 0; k < dim; k++) {
    const a = Math.abs(x[xOff + k]!)
    if (a > max) max = a
  }
  if (max === 0) {
    out.fill(0, outOff, outOff + dim)
    return 0
  }
  const inv = 127 / max
  for (let k = 0; k < dim; k++) out[outOff + k] = Math.round(x[xOff + k]! * inv)
  return Math.fround(max / 127)
}

/** q · rows[off … off+dim) — the int8 row against a float query (multiply by the row's scale for x·q). */
export function dotI8(q: Float32Array, rows: Int8Array, off: number, dim: number): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let k = 0
  for (; k + 3 < dim; k += 4) {
    s0 += q[k]! * rows[off + k]!
    s1 += q[k + 1]! * rows[off + k + 1]!
    s2 += q[k + 2]! * rows[off + k + 2]!
    s3 += q[k + 3]! * rows[off + k + 3]!
  }
  for (; k < dim; k++) s0 += q[k]! * rows[off + k]!
  return s0 + s1 + s2 + s3
}

/**
 * The worst-case error of a similarity computed on a quantized row: for a row x with scale s and any query
 * y, |x·y − s·(q·y)| ≤ Σ_k |x_k − s·q_k|·|y_k| ≤ (s/2)·‖y‖₁ (≤ (s/2)·√d for a unit y).
 */
export function int8Bound(scale: number, y: Float32Array): number {
  let l1 = 0
  for (let k = 0; k < y.length; k++) l1 += Math.abs(y[k]!)
  return (scale / 2) * l1
}

/** Deduplication key, independent of any tokenizer: trim, collapse whitespace, lowercase, drop one final period. */
export function captionKey(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase().replace(/\.$/, '').trimEnd()
}
