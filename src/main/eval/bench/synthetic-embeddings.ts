// Any process (pure). Seeded synthetic "caption embeddings" for the retrieval bench and tests, clustered the
// way CLIP text embeddings of a caption corpus are, not uniform noise.
// [Note: synthetic datastore] Every vector is normalize(√0.45·m + √0.25·t + √0.15·u + √0.15·e): m one
// direction shared by all (CLIP text embeddings sit in a narrow cone: random caption pairs have cosine
// ≈ 0.45), t one of `topics` cluster centres (a few thousand for 590k rows), u the image, e the caption's
// own noise. Each image has 5 captions (COCO), so same-image captions have cosine ≈ 0.85 and same-topic
// ones ≈ 0.70; one caption in ten is a near-copy of the previous one (cosine ≈ 0.999), like COCO's
// near-identical paraphrases, for the diversity filter. Queries are fresh captions of stored images (their
// true neighbours are that image's captions, then its topic), like a realigned image embedding. Images are
// generated from their own seed, so any slice of the datastore can be produced without the rest.
import { mulberry32 } from '../../engine/math/rng'

export interface SyntheticWorld {
  dim: number
  topics: number
  seed: number
  mean: Float32Array
  centres: Float32Array
}

export const CAPTIONS_PER_IMAGE = 5
const W_MEAN = Math.sqrt(0.45)
const W_TOPIC = Math.sqrt(0.25)
const W_IMAGE = Math.sqrt(0.15)
const W_CAPTION = Math.sqrt(0.15)
const NEAR_COPY = 0.1
const NEAR_NOISE = 0.03

function gaussians(r: () => number, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u = Math.max(r(), 1e-12)
    const m = Math.sqrt(-2 * Math.log(u))
    const a = 2 * Math.PI * r()
    out[i] = m * Math.cos(a)
    if (i + 1 < out.length) out[i + 1] = m * Math.sin(a)
  }
  return out
}

function unitInPlace(a: Float32Array, off = 0, n = a.length): void {
  let s = 0
  for (let k = 0; k < n; k++) s += a[off + k]! * a[off + k]!
  const inv = 1 / (Math.sqrt(s) || 1)
  for (let k = 0; k < n; k++) a[off + k]! *= inv
}

const unitGaussian = (r: () => number, dim: number) => {
  const v = gaussians(r, new Float32Array(dim))
  unitInPlace(v)
  return v
}

export function syntheticWorld(dim: number, topics: number, seed: number): SyntheticWorld {
  const r = mulberry32(seed)
  const mean = unitGaussian(r, dim)
  const centres = new Float32Array(topics * dim)
  for (let t = 0; t < topics; t++) centres.set(unitGaussian(r, dim), t * dim)
  return { dim, topics, seed, mean, centres }
}

/** The un-normalised image part (mean + topic + image direction) and the image's own generator. */
function image(w: SyntheticWorld, index: number): { base: Float32Array; r: () => number } {
  const r = mulberry32((Math.imul(w.seed, 2654435761) ^ Math.imul(index + 1, 40503)) >>> 0)
  const topic = Math.floor(r() * w.topics)
  const u = unitGaussian(r, w.dim)
  const base = new Float32Array(w.dim)
  for (let k = 0; k < w.dim; k++) base[k] = W_MEAN * w.mean[k]! + W_TOPIC * w.centres[topic * w.dim + k]! + W_IMAGE * u[k]!
  return { base, r }
}

/** Caption rows of images [from, to): (to − from)·5 rows × dim, row-major, each L2-normalised. */
export function syntheticRows(w: SyntheticWorld, from: number, to: number): Float32Array {
  const d = w.dim
  const out = new Float32Array((to - from) * CAPTIONS_PER_IMAGE * d)
  for (let img = from; img < to; img++) {
    const { base, r } = image(w, img)
    for (let c = 0; c < CAPTIONS_PER_IMAGE; c++) {
      const off = ((img - from) * CAPTIONS_PER_IMAGE + c) * d
      const e = unitGaussian(r, d)
      const near = c > 0 && r() < NEAR_COPY
      for (let k = 0; k < d; k++) out[off + k] = near ? out[off - d + k]! + NEAR_NOISE * e[k]! : base[k]! + W_CAPTION * e[k]!
      unitInPlace(out, off, d)
    }
  }
  return out
}

/** `count` queries: fresh captions of random stored images among the first `images`. */
export function syntheticQueries(w: SyntheticWorld, images: number, count: number, seed: number): Float32Array {
  const r = mulberry32(seed)
  const d = w.dim
  const out = new Float32Array(count * d)
  for (let q = 0; q < count; q++) {
    const { base } = image(w, Math.floor(r() * images))
    const e = unitGaussian(r, d)
    for (let k = 0; k < d; k++) out[q * d + k] = base[k]! + W_CAPTION * e[k]!
    unitInPlace(out, q * d, d)
  }
  return out
}

/** A caption-like string for row i (~50 UTF-8 bytes, like a COCO caption). */
export function syntheticCaption(row: number): string {
  const img = Math.floor(row / CAPTIONS_PER_IMAGE)
  return `synthetic caption ${row % CAPTIONS_PER_IMAGE} of image ${img}: a scene with things`
}

/**
 * Exact top-k (float32 dot products) of every query over rows streamed in chunks: call add() per chunk in
 * row order, then result(). Keeps a k-long sorted list per query.
 */
export class ExactTopK {
  private readonly ids: Int32Array
  private readonly sims: Float32Array
  private seen = 0
  constructor(private readonly queries: Float32Array, private readonly dim: number, private readonly k: number) {
    const n = queries.length / dim
    this.ids = new Int32Array(n * k).fill(-1)
    this.sims = new Float32Array(n * k).fill(-Infinity)
  }

  /** Score a chunk of rows against every query (2 rows × 2 queries per inner loop: each load feeds two
   *  products, about twice as fast as one pair at a time), keeping the k best per query. */
  add(rows: Float32Array): void {
    const d = this.dim
    const qs = this.queries
    const nq = qs.length / d
    const nr = rows.length / d
    const dot = (r: number, q: number) => {
      let s = 0
      for (let j = 0; j < d; j++) s += rows[r * d + j]! * qs[q * d + j]!
      return s
    }
    for (let i = 0; i < nr; i += 2) {
      const two = i + 1 < nr
      const r0 = i * d
      const r1 = two ? r0 + d : r0
      for (let q = 0; q < nq; q += 2) {
        if (q + 1 >= nq) {
          this.offer(q, this.seen + i, dot(i, q))
          if (two) this.offer(q, this.seen + i + 1, dot(i + 1, q))
          continue
        }
        const q0 = q * d
        const q1 = q0 + d
        let a = 0
        let b = 0
        let c = 0
        let e = 0
        for (let j = 0; j < d; j++) {
          const x = qs[q0 + j]!
          const y = qs[q1 + j]!
          const u = rows[r0 + j]!
          const w = rows[r1 + j]!
          a += u * x
          b += u * y
          c += w * x
          e += w * y
        }
        this.offer(q, this.seen + i, a)
        this.offer(q + 1, this.seen + i, b)
        if (two) {
          this.offer(q, this.seen + i + 1, c)
          this.offer(q + 1, this.seen + i + 1, e)
        }
      }
    }
    this.seen += nr
  }

  private offer(q: number, id: number, s: number): void {
    const k = this.k
    const base = q * k
    if (s <= this.sims[base + k - 1]!) return
    let p = k - 1
    while (p > 0 && this.sims[base + p - 1]! < s) {
      this.sims[base + p] = this.sims[base + p - 1]!
      this.ids[base + p] = this.ids[base + p - 1]!
      p--
    }
    this.sims[base + p] = s
    this.ids[base + p] = id
  }

  /** Per query, the k best row numbers, best first. */
  result(): number[][] {
    const nq = this.queries.length / this.dim
    return Array.from({ length: nq }, (_, q) => [...this.ids.subarray(q * this.k, (q + 1) * this.k)])
  }
}

/** Mean share of each query's exact top-k found in its retrieved list (recall@k). */
export function recallAtK(exact: readonly number[][], got: readonly (readonly number[])[], k: number): number {
  let hit = 0
  exact.forEach((e, q) => {
    const want = new Set(e.slice(0, k))
    hit += (got[q] ?? []).slice(0, k).filter((x) => want.has(x)).length
  })
  return hit / (exact.length * k)
}
