// Main process / serve / CLI (plain Node). The library's embeddings in use: one in-memory VectorSpace per pack
// space ([Note: embedding spaces]), loaded from the store on first use and kept current as embeddings are
// written (captioning and the index job both call `keep`), ranked search, and near-duplicate grouping
// ([Note: near-duplicate groups]). Inference is not here: vectors come from the engine client.
import { StudioError } from '@shared/errors'
import type { EmbeddingsRepo, Space, SpaceRows } from '../store/embeddings-repo'
import { quantize, int8View } from './quantize'
import { VectorSpace, type Hit } from './vector-space'
import { componentsOf, pairBits, type Edge } from './grouping'

/** Neighbours asked per image, and the lowest threshold the cached edges cover (the slider's range). */
const NEIGHBOURS = 10
export const MIN_THRESHOLD = 0.5
/** Rows per neighbour step of the grouping (yield between steps: the host keeps answering). */
const GROUP_STEP = 256
/** Time budget of one neighbour step, and its smallest size ([Note: step budget]). */
const STEP_MS = 20
const MIN_STEP = 16
/** Spaces above this many rows get their HNSW graph before grouping (the exact neighbour scan is quadratic). */
const GROUP_GRAPH_ROWS = 2_000
/** Rows per page when a space is loaded from the store (yield between pages). */
const LOAD_PAGE = 1_024

export interface PhashSource {
  /** Each image's pHash set (16 hex digits per 64-bit hash, see grouping.ts pairBits; cached by content hash),
   *  or null when it cannot be read. */
  phashes(imageIds: readonly number[], signal?: AbortSignal): Promise<Map<number, string | null>>
}

export interface GroupOptions {
  threshold: number
  maxHashBits: number
  signal?: AbortSignal
}

export interface Grouping {
  candidateGroups: number[][]
  groups: { ids: number[]; minSimilarity: number; maxHashBits: number }[]
}

const key = (s: Space) => `${s.packId}\0${s.version}`

export class LibrarySearch {
  private readonly spaces = new Map<string, VectorSpace>()
  /** Candidate edges at MIN_THRESHOLD per space, valid while the space has `size` rows and `gen` writes. */
  private readonly edges = new Map<string, { size: number; gen: number; edges: Edge[] }>()
  private gen = 0
  private readonly loading = new Map<string, Promise<VectorSpace>>()
  /** Rows written by keep while a space's pages are read, in write order ([Note: paged space load]). */
  private readonly written = new Map<string, SpaceRows[]>()

  constructor(private readonly repo: EmbeddingsRepo, private readonly phashes: PhashSource) {}

  /** Store an embedding and update the loaded space. */
  keep(space: Space, imageId: number, vector: ArrayLike<number>): void {
    this.repo.put(space, imageId, vector)
    this.gen++
    const s = this.spaces.get(key(space))
    const written = this.written.get(key(space))
    if (!s && !written) return
    const q = quantize(vector)
    const rows: SpaceRows = { dim: vector.length, ids: [imageId], scales: Float32Array.of(q.scale), rows: int8View(q.bytes) }
    written?.push(rows)
    s?.add(rows)
  }

  space(space: Space): VectorSpace {
    let s = this.spaces.get(key(space))
    if (!s) {
      s = new VectorSpace()
      s.add(this.repo.load(space))
      this.spaces.set(key(space), s)
    }
    return s
  }

  /** The space, loaded from the store in pages of LOAD_PAGE rows with a yield between them ([Note: paged
   *  space load]); `space()` loads in one go when nothing awaited this first. */
  loaded(space: Space): Promise<VectorSpace> {
    const k = key(space)
    const have = this.spaces.get(k)
    if (have) return Promise.resolve(have)
    let p = this.loading.get(k)
    if (!p) {
      p = this.loadPaged(space).finally(() => this.loading.delete(k))
      this.loading.set(k, p)
    }
    return p
  }

  // [Note: paged space load] 50,000 stored 512-d rows are 25 MB read from SQLite: in one statement that held
  // the main loop for the whole read. Pages of LOAD_PAGE rows (by image id) with a yield between them keep the
  // host answering. An embedding written meanwhile (keep) may land before the page cursor, in a page already
  // read: keep also records each row it writes while the pages are read (`written`), and those rows are
  // applied over the pages at the end, in write order. A row the pages did read is applied again with the
  // same or a later value, so the last write wins and none is lost. (Discarding the pages and reading the
  // space again in one go, as this once did, brought the one long read back whenever the index job or a
  // caption wrote during a load.)
  private async loadPaged(space: Space): Promise<VectorSpace> {
    const k = key(space)
    const written: SpaceRows[] = []
    this.written.set(k, written)
    try {
      const s = new VectorSpace()
      let after = 0
      for (;;) {
        const page = this.repo.load(space, after, LOAD_PAGE)
        if (page.ids.length === 0) break
        addSameDim(s, page)
        after = page.ids[page.ids.length - 1]!
        if (page.ids.length < LOAD_PAGE) break
        await new Promise((r) => setImmediate(r))
      }
      // space() loaded it in one go meanwhile (keep has kept that one current)
      const raced = this.spaces.get(k)
      if (raced) return raced
      for (const rows of written) addSameDim(s, rows)
      this.spaces.set(k, s)
      return s
    } finally {
      this.written.delete(k)
    }
  }

  /** The top `limit` images for a unit query vector, within `allowed` when given. */
  async query(space: Space, q: Float32Array, limit: number, allowed?: ReadonlySet<number>, exclude?: number): Promise<{ hits: Hit[]; exact: boolean }> {
    const s = await this.loaded(space)
    if (s.size === 0) return { hits: [], exact: true }
    const allow = allowed || exclude !== undefined ? (id: number) => id !== exclude && (!allowed || allowed.has(id)) : undefined
    return s.search(q, limit, allow, allowed?.size)
  }

  /** The stored vector of one image ("more like this"); not_found when it has none in this space. */
  vectorOf(space: Space, imageId: number): Float32Array {
    const v = this.space(space).vector(imageId)
    if (!v) throw new StudioError('not_found', `image ${imageId} has no embedding for pack ${space.packId} ${space.version} yet: caption it or run the index job (caption-studio library index)`)
    return v
  }

  /** Candidate edges (cosine ≥ MIN_THRESHOLD) of the space, computed in steps and cached until it changes. */
  async candidateEdges(space: Space, signal?: AbortSignal): Promise<Edge[]> {
    const s = await this.loaded(space)
    const cached = this.edges.get(key(space))
    if (cached && cached.size === s.size && cached.gen === this.gen) return cached.edges
    const gen = this.gen
    if (s.size > GROUP_GRAPH_ROWS) await s.buildGraph()
    // both ends usually list each other: each pair is kept once, deduplicated step by step (one pass over
    // every edge at the end held the main loop for the whole list at 50,000 rows)
    const pairs = new Map<number, Edge>()
    let step = MIN_STEP * 2
    for (let from = 0; from < s.size; from += step) {
      if (signal?.aborted) throw new StudioError('cancelled', 'duplicate grouping cancelled')
      const t = performance.now()
      const to = Math.min(s.size, from + step)
      for (const n of s.neighbours(from, to, NEIGHBOURS, MIN_THRESHOLD)) {
        const a = s.idAt(n.row)
        n.near.forEach((o, i) => keepPair(pairs, a, s.idAt(o), n.sims[i]!))
      }
      step = nextStep(step, to - from, performance.now() - t)
      await new Promise((r) => setImmediate(r))
    }
    const unique = [...pairs.values()]
    this.edges.set(key(space), { size: s.size, gen, edges: unique })
    return unique
  }

  /** Groups at a threshold: embedding components, then the pHash-confirmed ones. */
  async group(space: Space, o: GroupOptions): Promise<Grouping> {
    const all = await this.candidateEdges(space, o.signal)
    const over = all.filter((e) => e.similarity >= o.threshold)
    const candidateGroups = componentsOf(over)
    const hashes = await this.phashes.phashes(candidateGroups.flat(), o.signal)
    const bits = new Map<Edge, number>()
    for (const e of over) {
      const ha = hashes.get(e.a)
      const hb = hashes.get(e.b)
      if (ha && hb) bits.set(e, pairBits(ha, hb))
    }
    const kept = over.filter((e) => (bits.get(e) ?? Infinity) <= o.maxHashBits)
    const groups = componentsOf(kept).map((ids) => {
      const members = new Set(ids)
      const inside = kept.filter((e) => members.has(e.a))
      return { ids, minSimilarity: Math.min(...inside.map((e) => e.similarity)), maxHashBits: Math.max(...inside.map((e) => bits.get(e)!)) }
    })
    return { candidateGroups, groups }
  }
}

/** Rows of another dimension than the space's first are left out, as one read does (EmbeddingsRepo.load). */
function addSameDim(s: VectorSpace, rows: SpaceRows): void {
  if (s.size === 0 || rows.dim === s.dim) s.add(rows)
}

/** Keeps the pair {a, b} once, with its highest similarity (ids below 2^21 make a unique numeric key). */
function keepPair(pairs: Map<number, Edge>, x: number, y: number, similarity: number): void {
  const [a, b] = x < y ? [x, y] : [y, x]
  const k = a * 2 ** 32 + b
  const have = pairs.get(k)
  if (!have || have.similarity < similarity) pairs.set(k, { a, b, similarity })
}

/** [Note: step budget] Rows in the next neighbour step, so that one step takes about STEP_MS on this
 *  machine: a fixed step of 256 rows was a few ms when idle and far more on a loaded machine. */
export function nextStep(step: number, rows: number, ms: number): number {
  if (rows < step) return step
  const wanted = Math.round((rows * STEP_MS) / Math.max(ms, 0.5))
  return Math.max(MIN_STEP, Math.min(GROUP_STEP * 4, wanted, step * 2))
}
