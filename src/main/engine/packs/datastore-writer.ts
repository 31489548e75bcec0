// Any process (plain Node; usearch loads when an index is built). Streams a compact caption datastore
// (`caption-studio-datastore/1`) into a pack folder for the pack builder:
//   const w = await DatastoreWriter.create(packDir, { dim: 512, sources: [{ id: 0, name: 'COCO captions 2017 train', licence: 'CC BY 4.0' }] })
//   await w.add(captions, embeddings /* rows×dim, L2-normalised */, 0)   // as often as needed
//   const { datastore, files, stats } = await w.finish()                 // pack.json "datastore" + its "files" entries
// [Note: writer] Captions are deduplicated on captionKey (trim, collapse whitespace, lowercase, drop a final
// period); the first occurrence keeps its text, embedding and source. Rows are quantized on the way in and
// appended to `<base>.vectors.i8`, text to `<base>.captions.bin`; the scales, offsets and source ids (a few
// bytes per row) stay in memory until finish() appends them and patches the headers. Files are written
// under `.part` names and renamed only when complete, so an aborted build leaves nothing that looks
// finished. With more than EXACT_SCAN_MAX_ROWS rows, finish() builds the HNSW index (the long step: minutes
// for 590k rows on 2 cores, with progress) from the vectors file, read back in chunks; a b1 index also gets
// `<base>.index.centre.f32`, the mean of the kept rows (summed in float64 while they are added).
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { StudioError } from '@shared/errors'
import { captionKey, captionsLayout, DATASTORE_FORMAT, encodeCaptionsHeader, encodeVectorsHeader, HEADER_BYTES, quantizeRow, vectorsLayout } from './datastore-format'
import { buildIndex, DEFAULT_INDEX_PARAMS, EXACT_SCAN_MAX_ROWS, indexSpecFor, shardCount, type IndexParams } from './datastore-index'
import type { CompactDatastoreSpec, DatastoreSource } from './pack-schema'
import { sha256File } from './verify'

export interface DatastoreWriterOptions {
  dim: number
  sources: DatastoreSource[]
  /** File name stem inside the pack folder (may include a subfolder that exists): default "datastore". */
  basename?: string
  /** 'auto' (default): an index when rows > EXACT_SCAN_MAX_ROWS; 'always' / 'never' force it. */
  index?: 'auto' | 'always' | 'never'
  indexParams?: Partial<IndexParams>
  /** Threads for the index build (default 2). */
  threads?: number
  onProgress?: (p: { phase: 'index' | 'hash'; done: number; total: number }) => void
  signal?: AbortSignal
}

export interface DatastoreWriterResult {
  /** The pack.json `datastore` value. */
  datastore: CompactDatastoreSpec
  /** Entries for pack.json `files` (paths relative to the pack folder). */
  files: { path: string; bytes: number; sha256: string }[]
  stats: { added: number; rows: number; duplicates: number; empty: number; indexSeconds: number | null }
}

/** Tolerance on ‖x‖ for "L2-normalised" input rows. */
const NORM_TOLERANCE = 1e-3
const INDEX_CHUNK_ROWS = 8192

class Grow<T extends Float32Array | Uint32Array | Uint16Array> {
  length = 0
  constructor(private data: T, private readonly make: (n: number) => T) {}
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = x
  }
  view(): T {
    return this.data.subarray(0, this.length) as T
  }
}

export class DatastoreWriter {
  private readonly seen = new Set<string>()
  private readonly scales = new Grow(new Float32Array(1024), (n) => new Float32Array(n))
  private readonly offsets = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n))
  private readonly sourceIds = new Grow(new Uint16Array(1024), (n) => new Uint16Array(n))
  private blobBytes = 0
  private added = 0
  private duplicates = 0
  private empty = 0
  private state: 'open' | 'finished' | 'aborted' = 'open'
  private queue: Promise<void> = Promise.resolve()
  /** Σ of the kept rows (float64), for the b1 index's centre. */
  private readonly sum: Float64Array

  private constructor(
    private readonly dir: string,
    private readonly opts: DatastoreWriterOptions,
    private readonly names: { vectors: string; captions: string; index: (shard: number) => string; centre: string },
    private readonly vec: FileHandle,
    private readonly cap: FileHandle
  ) {
    this.offsets.push(0)
    this.sum = new Float64Array(opts.dim)
  }

  static async create(dir: string, opts: DatastoreWriterOptions): Promise<DatastoreWriter> {
    if (!Number.isInteger(opts.dim) || opts.dim < 1) throw new StudioError('invalid_input', `dim must be a positive integer (got ${opts.dim})`)
    if (!opts.sources.length) throw new StudioError('invalid_input', 'a datastore needs at least one source')
    if (new Set(opts.sources.map((s) => s.id)).size !== opts.sources.length) throw new StudioError('invalid_input', 'datastore source ids must be unique')
    if (!littleEndian()) throw new StudioError('unsupported', 'the datastore writer needs a little-endian machine')
    const base = opts.basename ?? 'datastore'
    const names = { vectors: `${base}.vectors.i8`, captions: `${base}.captions.bin`, index: (s: number) => `${base}.index.${s}.usearch`, centre: `${base}.index.centre.f32` }
    const vec = await open(join(dir, names.vectors + '.part'), 'w')
    const cap = await open(join(dir, names.captions + '.part'), 'w')
    // Headers are patched in finish() (positional writes); reserve their bytes now with appending writes.
    await vec.write(Buffer.alloc(HEADER_BYTES))
    await cap.write(Buffer.alloc(HEADER_BYTES))
    return new DatastoreWriter(dir, opts, names, vec, cap)
  }

  get rows(): number {
    return this.scales.length
  }

  /** Append captions with their embeddings (row-major rows×dim, each row L2-normalised) from one source.
   *  Calls are applied in order even when not awaited one by one. */
  add(captions: readonly string[], embeddings: Float32Array, sourceId: number): Promise<void> {
    const run = this.queue.then(() => this.append(captions, embeddings, sourceId))
    this.queue = run.catch(() => {})
    return run
  }

  private async append(captions: readonly string[], embeddings: Float32Array, sourceId: number): Promise<void> {
    if (this.state !== 'open') throw new StudioError('invalid_input', `datastore writer is ${this.state}`)
    const d = this.opts.dim
    if (embeddings.length !== captions.length * d) throw new StudioError('invalid_input', `${captions.length} captions need ${captions.length * d} embedding values (rows × ${d}), got ${embeddings.length}`)
    if (!this.opts.sources.some((s) => s.id === sourceId)) throw new StudioError('invalid_input', `source id ${sourceId} is not among the writer's sources`)
    // Validate the whole batch before any state changes, so a rejected batch leaves the writer as it was.
    for (let i = 0; i < captions.length; i++) {
      let n2 = 0
      for (let k = 0; k < d; k++) n2 += embeddings[i * d + k]! * embeddings[i * d + k]!
      if (!(Math.abs(Math.sqrt(n2) - 1) <= NORM_TOLERANCE)) throw new StudioError('invalid_input', `embedding ${i} of this batch ("${captions[i]!.slice(0, 40)}") has norm ${Math.sqrt(n2)}: rows must be finite and L2-normalised`)
    }
    const q = new Int8Array(captions.length * d)
    const texts: Buffer[] = []
    let kept = 0
    for (let i = 0; i < captions.length; i++) {
      this.added++
      const text = captions[i]!.trim()
      const key = captionKey(text)
      if (!key) {
        this.empty++
        continue
      }
      if (this.seen.has(key)) {
        this.duplicates++
        continue
      }
      const bytes = Buffer.from(text, 'utf8')
      if (this.blobBytes + bytes.length > 0xffffffff) throw new StudioError('invalid_input', 'datastore captions exceed 4 GiB of text')
      this.seen.add(key)
      this.scales.push(quantizeRow(embeddings, i * d, d, q, kept * d))
      for (let k = 0; k < d; k++) this.sum[k]! += embeddings[i * d + k]!
      this.blobBytes += bytes.length
      texts.push(bytes)
      this.offsets.push(this.blobBytes)
      this.sourceIds.push(sourceId)
      kept++
    }
    if (kept === 0) return
    await this.vec.write(q.subarray(0, kept * d))
    await this.cap.write(Buffer.concat(texts))
  }

  /** Write the tables, patch the headers, build the index when needed, and return pack.json's fragment. */
  async finish(): Promise<DatastoreWriterResult> {
    await this.queue
    if (this.state !== 'open') throw new StudioError('invalid_input', `datastore writer is ${this.state}`)
    const rows = this.rows
    const d = this.opts.dim
    try {
      if (rows === 0) throw new StudioError('invalid_input', 'the datastore is empty (no caption was added)')
      const vl = vectorsLayout(rows, d)
      await this.vec.write(Buffer.alloc(vl.scalesOffset - HEADER_BYTES - rows * d))
      await this.vec.write(Buffer.from(this.scales.view().buffer, 0, rows * 4))
      await this.vec.write(encodeVectorsHeader({ rows, dim: d }), 0, HEADER_BYTES, 0)
      const cl = captionsLayout(rows, this.blobBytes)
      await this.cap.write(Buffer.alloc(cl.offsetsOffset - HEADER_BYTES - this.blobBytes))
      await this.cap.write(Buffer.from(this.offsets.view().buffer, 0, (rows + 1) * 4))
      await this.cap.write(Buffer.from(this.sourceIds.view().buffer, 0, rows * 2))
      await this.cap.write(encodeCaptionsHeader({ rows, blobBytes: this.blobBytes }), 0, HEADER_BYTES, 0)
      await this.vec.close()
      await this.cap.close()
      const mode = this.opts.index ?? 'auto'
      const withIndex = mode === 'always' || (mode === 'auto' && rows > EXACT_SCAN_MAX_ROWS)
      const params = { ...DEFAULT_INDEX_PARAMS, ...this.opts.indexParams }
      let indexSeconds: number | null = null
      const b1 = withIndex && params.quantization === 'b1'
      const centre = b1 ? Float32Array.from(this.sum, (x) => x / rows) : undefined
      if (centre) {
        const fh = await open(this.path(this.names.centre) + '.part', 'w')
        await fh.write(Buffer.from(centre.buffer))
        await fh.close()
      }
      if (withIndex) {
        const t = performance.now()
        await buildIndex((s) => this.path(this.names.index(s)) + '.part', d, this.scales.view(), this.rowChunks(vl.rowsOffset, rows), params, {
          centre,
          threads: this.opts.threads,
          signal: this.opts.signal,
          onProgress: (p) => this.opts.onProgress?.({ phase: 'index', ...p })
        })
        indexSeconds = (performance.now() - t) / 1000
      }
      const shards = withIndex ? Array.from({ length: shardCount(rows, params.shardRows) }, (_, i) => this.names.index(i)) : []
      const names = [this.names.vectors, this.names.captions, ...shards, ...(b1 ? [this.names.centre] : [])]
      const files: DatastoreWriterResult['files'] = []
      for (const [i, name] of names.entries()) {
        await rename(this.path(name) + '.part', this.path(name))
        files.push({ path: name, bytes: (await stat(this.path(name))).size, sha256: await sha256File(this.path(name), this.opts.signal) })
        this.opts.onProgress?.({ phase: 'hash', done: i + 1, total: names.length })
      }
      this.state = 'finished'
      const datastore: CompactDatastoreSpec = {
        format: DATASTORE_FORMAT,
        rows,
        vectors: this.names.vectors,
        captions: this.names.captions,
        ...(withIndex ? { index: indexSpecFor(shards, params, b1 ? this.names.centre : undefined) } : {}),
        sources: this.opts.sources.map((s) => ({ ...s }))
      }
      return { datastore, files, stats: { added: this.added, rows, duplicates: this.duplicates, empty: this.empty, indexSeconds } }
    } catch (err) {
      await this.abort()
      // Nothing of a failed finish() stays, not even a file already renamed to its final name.
      for (const n of this.allNames()) await rm(this.path(n), { force: true })
      throw err
    }
  }

  /** Stop and remove every partial file. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return
    this.state = 'aborted'
    await this.vec.close().catch(() => {})
    await this.cap.close().catch(() => {})
    for (const n of this.allNames()) await rm(this.path(n) + '.part', { force: true })
  }

  /** Every file this writer may have written (index shards up to the current row count). */
  private allNames(): string[] {
    const shards = shardCount(this.rows, { ...DEFAULT_INDEX_PARAMS, ...this.opts.indexParams }.shardRows)
    return [this.names.vectors, this.names.captions, this.names.centre, ...Array.from({ length: shards }, (_, i) => this.names.index(i))]
  }

  private path(name: string): string {
    return join(this.dir, name)
  }

  private async *rowChunks(rowsOffset: number, rows: number): AsyncGenerator<{ first: number; rows: Int8Array }> {
    const d = this.opts.dim
    const fh = await open(this.path(this.names.vectors) + '.part', 'r')
    try {
      for (let first = 0; first < rows; first += INDEX_CHUNK_ROWS) {
        const n = Math.min(INDEX_CHUNK_ROWS, rows - first)
        const buf = Buffer.alloc(n * d)
        const { bytesRead } = await fh.read(buf, 0, n * d, rowsOffset + first * d)
        if (bytesRead !== n * d) throw new StudioError('io_error', `${this.names.vectors}: short read while building the index`)
        yield { first, rows: new Int8Array(buf.buffer, buf.byteOffset, n * d) }
      }
    } finally {
      await fh.close()
    }
  }
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
}
