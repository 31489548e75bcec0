// Engine worker / any Node process (pure). Small dense vector helpers on Float32Array. Anything heavier
// (SVD, solves) goes through ml-matrix in realign.ts / gap.ts.

export type Vec = Float32Array

export function dot(a: Vec, b: Vec): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

export function norm(a: Vec): number {
  return Math.sqrt(dot(a, a))
}

/** A new L2-normalised copy (a zero vector stays zero). */
export function normalize(a: Vec): Vec {
  const n = norm(a)
  const out = new Float32Array(a.length)
  if (n > 0) for (let i = 0; i < a.length; i++) out[i] = a[i]! / n
  return out
}

/** Cosine similarity (0 when either vector is zero). */
export function cosine(a: Vec, b: Vec): number {
  const d = norm(a) * norm(b)
  return d > 0 ? dot(a, b) / d : 0
}

/** a + w·b as a new vector. */
export function axpy(a: Vec, b: Vec, w: number): Vec {
  const out = new Float32Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + w * b[i]!
  return out
}

/** Σ_i weights[i]·rows[i]. */
export function weightedSum(rows: readonly Vec[], weights: ArrayLike<number>, dim: number): Vec {
  const out = new Float32Array(dim)
  rows.forEach((r, i) => {
    const w = weights[i]!
    if (w !== 0) for (let k = 0; k < dim; k++) out[k]! += w * r[k]!
  })
  return out
}

/** Row vector times a row-major [rows, cols] matrix: x·W (x's first `rows` entries; cols defaults to rows,
 *  the square realignment case). x may be plain numbers (softmax weights in memory.ts's projectDense): each
 *  x_i·W_ij is formed in float64 and accumulated into the float32 output, zero entries of x skipped. */
export function vecMat(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, cols = rows): Vec {
  const out = new Float32Array(cols)
  for (let i = 0; i < rows; i++) {
    const xi = x[i]!
    if (xi === 0) continue
    const off = i * cols
    for (let j = 0; j < cols; j++) out[j]! += xi * w[off + j]!
  }
  return out
}

/** Row `i` of a row-major [rows, dim] buffer, as a view (no copy). */
export function row(data: Float32Array, i: number, dim: number): Vec {
  return data.subarray(i * dim, (i + 1) * dim)
}

/** Split a row-major [n, dim] buffer into n row views. */
export function rows(data: Float32Array, n: number, dim: number): Vec[] {
  return Array.from({ length: n }, (_, i) => row(data, i, dim))
}

/** Numerically stable softmax of `values / temperature`. */
export function softmax(values: ArrayLike<number>, temperature = 1): number[] {
  // The max is subtracted before dividing: with a tiny temperature (1e-323) v/t overflows to ±Infinity and
  // Infinity − Infinity is NaN (found by the contract fuzz through conceptTau); (v − max)/t is ≤ 0 or −Infinity.
  let max = -Infinity
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!)
  const exps = Array.from({ length: values.length }, (_, i) => Math.exp((values[i]! - max) / temperature))
  const sum = exps.reduce((s, x) => s + x, 0)
  return exps.map((e) => e / sum)
}

/** log Σ exp(x), stable (max subtracted first). Float32Array only: one element kind keeps this hot loop
 *  monomorphic (it runs over the whole vocabulary for every hypothesis at every decoding step). */
export function logSumExp(x: Float32Array): number {
  let max = -Infinity
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!
  if (!Number.isFinite(max)) return max
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i]! - max)
  return max + Math.log(sum)
}

/** Index of the largest value (the lowest index among ties; NaN never wins unless all are NaN) — topK(x, 1)
 *  for Float32Array, kept separate so the per-step next-token choice stays monomorphic and allocation-free. */
export function argmaxF32(x: Float32Array): number {
  let best = 0
  let bv = -Infinity
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    if (v > bv) {
      bv = v
      best = i
    }
  }
  return best
}

/** Indices of the k largest values, largest first (ties: lower index first; NaN counts as −∞).
 * [Note: partial selection] One pass keeping a sorted buffer of the best k (insertion into it only when
 * a value beats the current k-th), O(n) for the small k used here (next token, retrieval, concepts). The
 * earlier full index sort cost 17.7 ms per step on a 49,408-word vocabulary (docs/benchmarks.md). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const n = values.length
  const m = Math.max(0, Math.min(Math.floor(k), n))
  if (m === 0) return []
  const key = (i: number) => {
    const v = values[i]!
    return Number.isNaN(v) ? -Infinity : v
  }
  const best: number[] = []
  const vals: number[] = []
  for (let i = 0; i < n; i++) {
    const v = key(i)
    if (best.length === m && !(v > vals[m - 1]!)) continue
    let j = best.length === m ? m - 1 : best.length
    // shift smaller entries down; equal values keep the earlier (lower) index ahead
    while (j > 0 && vals[j - 1]! < v) {
      if (j < m) {
        best[j] = best[j - 1]!
        vals[j] = vals[j - 1]!
      }
      j--
    }
    if (j < m) {
      best[j] = i
      vals[j] = v
    }
  }
  return best
}

/** Dot product of x with every row of a row-major [n, dim] matrix. */
export function matVecRows(data: Float32Array, n: number, dim: number, x: Vec): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    const off = i * dim
    for (let k = 0; k < dim; k++) s += data[off + k]! * x[k]!
    out[i] = s
  }
  return out
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((s, x) => s + x, 0) / values.length : 0
}
