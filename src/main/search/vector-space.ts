// Main process / serve / CLI (plain Node; the usearch N-API module loads lazily). One pack space of library
// embeddings held in memory for search: int8 rows with their scales (as stored, [Note: embedding spaces]),
// exact cosine top-k over all rows or a subset, and an HNSW graph (usearch, i8 coding, cosine) once the space
// is large. [Note: library index] Below EXACT_MAX_ROWS an exact scan answers within a few ms (measured: the
// caption datastore's cut-over, datastore-index.ts, and `bench --only search`), so no graph is built. Above
// it the graph is built in chunks that yield to the event loop (the host never stalls on it); until it is
// ready, and for filtered searches over a small subset, the exact scan answers. Graph candidates are always
// re-scored exactly on the int8 rows, so a similarity shown is never the graph's approximation.
import { StudioError } from '@shared/errors'
import { dotI8, quantizeRow } from '../engine/packs/datastore-format'
import type { SpaceRows } from '../store/embeddings-repo'

type Usearch = typeof import('usearch')
type UIndex = InstanceType<Usearch['Index']>
let usearchModule: Promise<Usearch> | null = null
function usearch(): Promise<Usearch> {
  usearchModule ??= import('usearch').catch((err: unknown) => {
    usearchModule = null
    throw new StudioError('unsupported', `the usearch native module could not be loaded: ${(err as Error).message}`)
  })
  return usearchModule
}

export const EXACT_MAX_ROWS = 20_000
/** Unfiltered queries scan up to this many rows exactly with usearch's SIMD int8 cosine (measured in
 *  `bench --only search`: the JS scan took ~40 ms over 50,000 128-d rows), the graph answers above. */
export const SIMD_EXACT_MAX_ROWS = 200_000
/** Rows added to the graph per step before yielding. */
const BUILD_CHUNK = 2_000
/** The first chunk, and the time one chunk should take ([Note: build budget]). */
const FIRST_BUILD_CHUNK = 32
const BUILD_MS = 20

export interface Hit {
  id: number
  similarity: number
}

export interface GraphParams {
  connectivity: number
  expansionAdd: number
  expansionSearch: number
}

export const DEFAULT_GRAPH: GraphParams = { connectivity: 16, expansionAdd: 128, expansionSearch: 128 }

/** Keeps the k largest scores (a min-heap on score). */
export class TopK {
  readonly rows: number[] = []
  readonly scores: number[] = []
  constructor(private readonly k: number) {}

  push(row: number, score: number): void {
    const r = this.rows
    const s = this.scores
    if (r.length < this.k) {
      r.push(row)
      s.push(score)
      let i = r.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if (s[p]! <= s[i]!) break
        this.swap(i, p)
        i = p
      }
    } else if (this.k > 0 && score > s[0]!) {
      r[0] = row
      s[0] = score
      let i = 0
      for (;;) {
        const a = 2 * i + 1
        const b = a + 1
        let m = i
        if (a < r.length && s[a]! < s[m]!) m = a
        if (b < r.length && s[b]! < s[m]!) m = b
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
  }

  private swap(i: number, j: number): void {
    ;[this.rows[i], this.rows[j]] = [this.rows[j]!, this.rows[i]!]
    ;[this.scores[i], this.scores[j]] = [this.scores[j]!, this.scores[i]!]
  }

  /** Best first; ties by row. */
  sorted(): { row: number; score: number }[] {
    return this.rows.map((row, i) => ({ row, score: this.scores[i]! })).sort((x, y) => y.score - x.score || x.row - y.row)
  }
}

export class VectorSpace {
  dim = 0
  private ids: number[] = []
  private readonly rowOf = new Map<number, number>()
  private rows = new Int8Array(0)
  /** scale / ‖scale·q‖ per row: multiplies q·row to give the cosine. */
  private factor = new Float32Array(0)
  private graph: UIndex | null = null
  private graphRows = 0
  private building: Promise<void> | null = null

  constructor(private readonly params: GraphParams = DEFAULT_GRAPH, private readonly exactMax = EXACT_MAX_ROWS) {}

  get size(): number {
    return this.ids.length
  }

  get graphReady(): boolean {
    return this.graph !== null && this.graphRows === this.ids.length
  }

  has(id: number): boolean {
    return this.rowOf.has(id)
  }

  idAt(row: number): number {
    return this.ids[row]!
  }

  rowIndex(id: number): number | undefined {
    return this.rowOf.get(id)
  }

  /** The stored (dequantised, unit) vector of an image, for "more like this". */
  vector(id: number): Float32Array | null {
    const r = this.rowOf.get(id)
    if (r === undefined) return null
    const out = new Float32Array(this.dim)
    const f = this.factor[r]!
    for (let k = 0; k < this.dim; k++) out[k] = f * this.rows[r * this.dim + k]!
    return out
  }

  /** Add rows (an image already present is overwritten in place). */
  add(data: SpaceRows): void {
    if (data.ids.length === 0) return
    if (this.dim === 0) this.dim = data.dim
    if (data.dim !== this.dim) throw new StudioError('internal', `a ${data.dim}-d row cannot join a ${this.dim}-d space`)
    const fresh = data.ids.filter((id) => !this.rowOf.has(id)).length
    this.grow(this.ids.length + fresh)
    data.ids.forEach((id, i) => {
      let r = this.rowOf.get(id)
      if (r === undefined) {
        r = this.ids.length
        this.ids.push(id)
        this.rowOf.set(id, r)
      }
      const src = data.rows.subarray(i * this.dim, (i + 1) * this.dim)
      this.rows.set(src, r * this.dim)
      let n = 0
      for (let k = 0; k < this.dim; k++) n += src[k]! * src[k]!
      this.factor[r] = n > 0 ? 1 / Math.sqrt(n) : 0
    })
  }

  private grow(n: number): void {
    if (n * this.dim <= this.rows.length) return
    const cap = Math.max(n, Math.ceil(this.ids.length * 1.5), 1024)
    const rows = new Int8Array(cap * this.dim)
    rows.set(this.rows)
    this.rows = rows
    const f = new Float32Array(cap)
    f.set(this.factor)
    this.factor = f
  }

  cosineAt(q: Float32Array, row: number): number {
    return dotI8(q, this.rows, row * this.dim, this.dim) * this.factor[row]!
  }

  /** Exact top-k over all rows, or over the rows `allow` says yes to. `q` must be unit length. */
  exact(q: Float32Array, k: number, allow?: (id: number) => boolean): Hit[] {
    this.checkQuery(q)
    const top = new TopK(k)
    for (let r = 0; r < this.ids.length; r++) {
      if (allow && !allow(this.ids[r]!)) continue
      top.push(r, this.cosineAt(q, r))
    }
    return top.sorted().map((h) => ({ id: this.ids[h.row]!, similarity: h.score }))
  }

  /** Top-k, through the graph when it is ready and the space is large; `allow` filters (the graph is asked for
   *  more candidates until k pass, else the exact scan answers). `exact` in the answer says which path. */
  async search(q: Float32Array, k: number, allow?: (id: number) => boolean, allowedCount?: number): Promise<{ hits: Hit[]; exact: boolean }> {
    this.checkQuery(q)
    const large = this.ids.length > this.exactMax
    if (!allow && this.ids.length <= SIMD_EXACT_MAX_ROWS) {
      const simd = await this.simdExact(q, k)
      if (simd) return { hits: simd, exact: true }
    }
    if (large && !this.graphReady) void this.buildGraph()
    // A filter keeping a small part of the space: scanning that part exactly is cheaper than the graph.
    const small = allowedCount !== undefined && allowedCount <= this.exactMax
    if (!large || !this.graphReady || small) return { hits: this.exact(q, k, allow), exact: true }
    return { hits: this.graphSearch(q, k, allow), exact: false }
  }

  /** Top-k through the HNSW graph (buildGraph first), candidates re-scored exactly; `allow` filters. */
  graphSearch(q: Float32Array, k: number, allow?: (id: number) => boolean): Hit[] {
    if (!this.graphReady) throw new StudioError('internal', 'the HNSW graph is not built')
    const q8 = new Int8Array(this.dim)
    quantizeRow(q, 0, this.dim, q8, 0)
    for (let want = Math.max(4 * k, 64); ; want *= 4) {
      const m = this.graph!.search(q8, Math.min(want, this.ids.length), 1)
      const top = new TopK(k)
      let passed = 0
      for (const key of m.keys) {
        const r = Number(key)
        if (r >= this.ids.length || (allow && !allow(this.ids[r]!))) continue
        passed++
        top.push(r, this.cosineAt(q, r))
      }
      if (passed >= k || want >= this.ids.length) return top.sorted().map((h) => ({ id: this.ids[h.row]!, similarity: h.score }))
    }
  }

  /** Exact top-k over every row with usearch's SIMD int8 cosine (null when usearch cannot load), re-scored. */
  private async simdExact(q: Float32Array, k: number): Promise<Hit[] | null> {
    const m = await usearch().catch(() => null)
    if (!m) return null
    const q8 = new Int8Array(this.dim)
    quantizeRow(q, 0, this.dim, q8, 0)
    // rows starts at byteOffset 0 (usearch ignores byteOffset); the view limits it to the rows in use
    const r = m.exactSearch(this.rows.subarray(0, this.ids.length * this.dim), q8, this.dim, Math.min(k, this.ids.length), m.MetricKind.Cos, 1)
    const keys = r instanceof m.BatchMatches ? r.get(0).keys : r.keys
    const hits: Hit[] = []
    for (const key of keys) {
      const row = Number(key)
      if (row < this.ids.length) hits.push({ id: this.ids[row]!, similarity: this.cosineAt(q, row) })
    }
    return hits.sort((a, b) => b.similarity - a.similarity || a.id - b.id)
  }

  /** Build (or extend) the HNSW graph in chunks, yielding between them. Resolves when it covers every row. */
  buildGraph(threads = 2): Promise<void> {
    if (this.building) return this.building
    const run = async () => {
      const m = await usearch()
      if (!this.graph) {
        this.graph = new m.Index({
          dimensions: this.dim,
          metric: m.MetricKind.Cos,
          quantization: m.ScalarKind.I8,
          connectivity: this.params.connectivity,
          expansion_add: this.params.expansionAdd,
          expansion_search: this.params.expansionSearch,
          multi: false
        })
        this.graphRows = 0
      }
      let chunk = FIRST_BUILD_CHUNK
      while (this.graphRows < this.ids.length) {
        const from = this.graphRows
        const to = Math.min(this.ids.length, from + chunk)
        const t = performance.now()
        const keys = new BigUint64Array(to - from)
        for (let i = 0; i < keys.length; i++) keys[i] = BigInt(from + i)
        // usearch reads from the start of the ArrayBuffer (byteOffset ignored): pass a copy, not a view
        this.graph.add(keys, this.rows.slice(from * this.dim, to * this.dim), threads)
        this.graphRows = to
        // [Note: build budget] graph.add runs on the calling thread (usearch's threads join before it
        // returns): chunks are sized so that one takes about BUILD_MS here, whatever the machine's load
        const ms = performance.now() - t
        if (to - from === chunk) chunk = Math.max(16, Math.min(BUILD_CHUNK, chunk * 2, Math.round((chunk * BUILD_MS) / Math.max(ms, 0.5))))
        await new Promise((r) => setImmediate(r))
      }
    }
    this.building = run().finally(() => {
      this.building = null
    })
    return this.building
  }

  /** For each row in [from, to): its k nearest rows (itself excluded) with cosines ≥ min, through the graph
   *  when built (buildGraph first; any size), else exactly (quadratic: small spaces only). Near-duplicates. */
  neighbours(from: number, to: number, k: number, min: number): { row: number; near: number[]; sims: number[] }[] {
    const out: { row: number; near: number[]; sims: number[] }[] = []
    const q = new Float32Array(this.dim)
    const found = this.graphReady && to > from ? (this.graph!.search(this.rows.slice(from * this.dim, to * this.dim), Math.min(k + 1, this.ids.length), 1) as unknown as { keys: BigUint64Array; get?(i: number): { keys: BigUint64Array } }) : null
    // one query comes back as Matches, several as BatchMatches
    const batch = found ? { get: (i: number) => (found.get ? found.get(i) : found) } : null
    for (let r = from; r < to; r++) {
      const f = this.factor[r]!
      for (let j = 0; j < this.dim; j++) q[j] = f * this.rows[r * this.dim + j]!
      const near: number[] = []
      const sims: number[] = []
      if (batch) {
        const keys = batch.get(r - from).keys
        for (const key of keys) {
          const o = Number(key)
          if (o === r || o >= this.ids.length) continue
          const s = this.cosineAt(q, o)
          if (s >= min) {
            near.push(o)
            sims.push(s)
          }
        }
      } else {
        const top = new TopK(k + 1)
        for (let o = 0; o < this.ids.length; o++) if (o !== r) top.push(o, this.cosineAt(q, o))
        for (const h of top.sorted()) {
          if (near.length >= k || h.score < min) break
          near.push(h.row)
          sims.push(h.score)
        }
      }
      out.push({ row: r, near, sims })
    }
    return out
  }

  private checkQuery(q: Float32Array): void {
    if (q.length !== this.dim) throw new StudioError('invalid_input', `a ${q.length}-d query cannot search a ${this.dim}-d space`)
  }
}
