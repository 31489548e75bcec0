// Engine worker / any Node process (pure). ReCap-style linear realignment of image embeddings onto text
// embeddings, fitted in closed form.
// [Note: realignment] With X (image) and Y (text) the L2-normalised embeddings of n paired rows:
//   - orthogonal Procrustes: W = U·Vᵀ where U·Σ·Vᵀ = SVD(Xᵀ·Y); minimises ‖XW − Y‖_F s.t. WᵀW = I;
//   - ridge: W = (XᵀX + λI)⁻¹ XᵀY (λ = 1 by default, as SITTA's α = 1).
// No centring or z-scoring: ReCap's exact variant is not known (methods.md §5), the pack's matrices are
// applied the same way (x·W, then renormalised), and this keeps one convention for packs and refits.
// Speed (a 512-d refit must take about a second on a busy 2-core machine): the Gram matrices XᵀY, XᵀX and
// the matrix products are plain Float64Array loops; the decompositions come from ml-matrix. Procrustes uses
// the polar form W = M·(MᵀM)^(-1/2) = M·V·Σ⁻¹·Vᵀ from the *symmetric* eigendecomposition MᵀM = V·Σ²·Vᵀ (about
// 2.5× faster than ml-matrix's general SVD at 512-d, same result); directions with σ ≈ 0 (fewer pairs than
// dimensions) get an orthonormal completion by Gram–Schmidt, so W stays orthogonal. Ridge uses ml-matrix's
// Cholesky factor and our own triangular solves over all right-hand sides at once.
// The fitted matrix is a plain `number[]` (row-major d×d) so the store can persist it as JSON.
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix'
import { StudioError } from '@shared/errors'
import { normalize, vecMat, type Vec } from './linalg'

export type AlignMethod = 'procrustes' | 'ridge'

export interface Realignment {
  method: AlignMethod
  dim: number
  /** Row-major dim×dim: aligned = normalize(x·W). */
  matrix: number[]
  pairs: number
  lambda?: number
  fitMs: number
}

export interface EmbeddingPair {
  image: ArrayLike<number>
  text: ArrayLike<number>
}

function unit(x: ArrayLike<number>, dim: number, i: number): Float64Array {
  if (x.length !== dim) throw new StudioError('invalid_input', `embedding ${i} has ${x.length} dimensions, expected ${dim}`)
  const v = Float64Array.from(x)
  let n = 0
  for (let k = 0; k < dim; k++) n += v[k]! * v[k]!
  n = Math.sqrt(n) || 1
  for (let k = 0; k < dim; k++) v[k]! /= n
  return v
}

/** Σ_i a_iᵀ b_i over paired rows (row-major d×d). */
function gram(a: Float64Array[], b: Float64Array[], d: number): Float64Array {
  const g = new Float64Array(d * d)
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    for (let p = 0; p < d; p++) {
      const xp = x[p]!
      if (xp === 0) continue
      const off = p * d
      for (let q = 0; q < d; q++) g[off + q]! += xp * y[q]!
    }
  }
  return g
}

/** Row-major C = A·B (d×d). */
function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const c = new Float64Array(d * d)
  for (let i = 0; i < d; i++) {
    const co = i * d
    for (let k = 0; k < d; k++) {
      const x = a[co + k]!
      if (x === 0) continue
      const bo = k * d
      for (let j = 0; j < d; j++) c[co + j]! += x * b[bo + j]!
    }
  }
  return c
}

function transpose(a: Float64Array, d: number): Float64Array {
  const t = new Float64Array(d * d)
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) t[j * d + i] = a[i * d + j]!
  return t
}

function procrustes(M: Float64Array, d: number): Float64Array {
  const S = matmul(transpose(M, d), M, d)
  const evd = new EigenvalueDecomposition(new Matrix(Array.from({ length: d }, (_, i) => Array.from(S.subarray(i * d, (i + 1) * d)))), { assumeSymmetric: true })
  const lambda = evd.realEigenvalues
  const Vm = evd.eigenvectorMatrix
  const V = new Float64Array(d * d)
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) V[i * d + j] = Vm.get(i, j)
  const MV = matmul(M, V, d)
  const maxL = Math.max(...lambda.map(Math.abs), 0)
  // Columns of U, built column-major for Gram–Schmidt: u_i = M·v_i / σ_i, or a completion when σ_i ≈ 0.
  const cols: Float64Array[] = new Array(d)
  const weak: number[] = []
  for (let i = 0; i < d; i++) {
    const s = Math.sqrt(Math.max(lambda[i]!, 0))
    if (maxL === 0 || lambda[i]! <= 1e-10 * maxL) {
      weak.push(i)
      continue
    }
    const u = new Float64Array(d)
    for (let r = 0; r < d; r++) u[r] = MV[r * d + i]! / s
    cols[i] = u
  }
  const strong = cols.filter(Boolean)
  for (const i of weak) {
    const tryVec = (seed: Float64Array): Float64Array | null => {
      const u = Float64Array.from(seed)
      for (let pass = 0; pass < 2; pass++) {
        for (const c of strong) {
          let p = 0
          for (let r = 0; r < d; r++) p += u[r]! * c[r]!
          for (let r = 0; r < d; r++) u[r]! -= p * c[r]!
        }
      }
      let n = 0
      for (let r = 0; r < d; r++) n += u[r]! * u[r]!
      n = Math.sqrt(n)
      if (n < 1e-6) return null
      return u.map((x) => x / n)
    }
    let u = tryVec(Float64Array.from({ length: d }, (_, r) => V[r * d + i]!))
    for (let e = 0; !u && e < d; e++) u = tryVec(Float64Array.from({ length: d }, (_, r) => (r === e ? 1 : 0)))
    if (!u) throw new StudioError('internal', 'Procrustes: could not complete an orthonormal basis')
    cols[i] = u
    strong.push(u)
  }
  const U = new Float64Array(d * d)
  for (let i = 0; i < d; i++) for (let r = 0; r < d; r++) U[r * d + i] = cols[i]![r]!
  return matmul(U, transpose(V, d), d)
}

function ridge(A: Float64Array, B: Float64Array, d: number, lambda: number): Float64Array {
  for (let i = 0; i < d; i++) A[i * d + i]! += lambda
  const chol = new CholeskyDecomposition(new Matrix(Array.from({ length: d }, (_, i) => Array.from(A.subarray(i * d, (i + 1) * d)))))
  // With few pairs XᵀX is rank-deficient and a λ near 0 leaves it singular: the request cannot be fitted,
  // which is the caller's data, not a fault (it was an internal error; found by the contract fuzz).
  if (!chol.isPositiveDefinite()) throw new StudioError('invalid_input', `ridge: XᵀX + λI is singular for these pairs at λ = ${lambda}; use more pairs or a larger lambda`)
  const Lm = chol.lowerTriangularMatrix
  const L = new Float64Array(d * d)
  for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) L[i * d + j] = Lm.get(i, j)
  // Solve L·Z = B (forward), then Lᵀ·W = Z (backward); every row operation covers all d right-hand sides.
  const Z = Float64Array.from(B)
  for (let i = 0; i < d; i++) {
    const zi = i * d
    for (let k = 0; k < i; k++) {
      const l = L[i * d + k]!
      if (l === 0) continue
      const zk = k * d
      for (let j = 0; j < d; j++) Z[zi + j]! -= l * Z[zk + j]!
    }
    const diag = L[i * d + i]!
    for (let j = 0; j < d; j++) Z[zi + j]! /= diag
  }
  for (let i = d - 1; i >= 0; i--) {
    const zi = i * d
    for (let k = i + 1; k < d; k++) {
      const l = L[k * d + i]!
      if (l === 0) continue
      const zk = k * d
      for (let j = 0; j < d; j++) Z[zi + j]! -= l * Z[zk + j]!
    }
    const diag = L[i * d + i]!
    for (let j = 0; j < d; j++) Z[zi + j]! /= diag
  }
  return Z
}

export function fitRealignment(pairs: readonly EmbeddingPair[], method: AlignMethod, opts: { lambda?: number } = {}): Realignment {
  const t0 = performance.now()
  if (pairs.length < 2) throw new StudioError('invalid_input', `realignment needs at least 2 (image, caption) pairs, got ${pairs.length}`)
  const dim = pairs[0]!.image.length
  const X = pairs.map((p, i) => unit(p.image, dim, i))
  const Y = pairs.map((p, i) => unit(p.text, dim, i))
  let W: Float64Array
  let lambda: number | undefined
  if (method === 'procrustes') {
    W = procrustes(gram(X, Y, dim), dim)
  } else {
    lambda = opts.lambda ?? 1
    if (!(lambda > 0)) throw new StudioError('invalid_input', 'ridge lambda must be > 0')
    W = ridge(gram(X, X, dim), gram(X, Y, dim), dim, lambda)
  }
  const matrix = Array.from(W)
  if (!matrix.every(Number.isFinite)) throw new StudioError('invalid_input', `realignment (${method}) is not finite for these pairs${lambda !== undefined ? ` at λ = ${lambda}; use more pairs or a larger lambda` : ''}`)
  return { method, dim, matrix, pairs: pairs.length, lambda, fitMs: performance.now() - t0 }
}

/** normalize(x·W). */
export function applyRealignment(x: Vec, matrix: ArrayLike<number>, dim: number): Vec {
  return normalize(vecMat(x, matrix, dim))
}
