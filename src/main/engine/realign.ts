// Engine worker / any Node process (pure). ReCap-style linear realignment of image embeddings onto text
// embeddings, fitted in closed form with ml-matrix.
// [Note: realignment] With X (image) and Y (text) the L2-normalised embeddings of n paired rows:
//   - orthogonal Procrustes: W = U·Vᵀ where U·Σ·Vᵀ = SVD(Xᵀ·Y); minimises ‖XW − Y‖_F s.t. WᵀW = I;
//   - ridge: W = (XᵀX + λI)⁻¹ XᵀY (λ = 1 by default, as SITTA's α = 1), solved by Cholesky.
// No centring or z-scoring: ReCap's exact variant is not known (methods.md §5), the pack's matrices are
// applied the same way (x·W, then renormalised), and this keeps one convention for packs and refits.
// The fitted matrix is a plain `number[]` (row-major d×d) so the store can persist it as JSON.
import { CholeskyDecomposition, Matrix, SVD } from 'ml-matrix'
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

function stack(vectors: ArrayLike<number>[], dim: number): Matrix {
  const m = new Matrix(vectors.length, dim)
  vectors.forEach((x, i) => {
    if (x.length !== dim) throw new StudioError('invalid_input', `embedding ${i} has ${x.length} dimensions, expected ${dim}`)
    let n = 0
    for (let k = 0; k < dim; k++) n += x[k]! * x[k]!
    n = Math.sqrt(n) || 1
    for (let k = 0; k < dim; k++) m.set(i, k, x[k]! / n)
  })
  return m
}

export function fitRealignment(pairs: readonly EmbeddingPair[], method: AlignMethod, opts: { lambda?: number } = {}): Realignment {
  const t0 = performance.now()
  if (pairs.length < 2) throw new StudioError('invalid_input', `realignment needs at least 2 (image, caption) pairs, got ${pairs.length}`)
  const dim = pairs[0]!.image.length
  const X = stack(pairs.map((p) => p.image), dim)
  const Y = stack(pairs.map((p) => p.text), dim)
  const XtY = X.transpose().mmul(Y)
  let W: Matrix
  let lambda: number | undefined
  if (method === 'procrustes') {
    const svd = new SVD(XtY, { autoTranspose: false })
    W = svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose())
  } else {
    lambda = opts.lambda ?? 1
    if (!(lambda > 0)) throw new StudioError('invalid_input', 'ridge lambda must be > 0')
    const A = X.transpose().mmul(X)
    for (let i = 0; i < dim; i++) A.set(i, i, A.get(i, i) + lambda)
    W = new CholeskyDecomposition(A).solve(XtY)
  }
  const matrix = Array.from(W.to1DArray())
  if (!matrix.every(Number.isFinite)) throw new StudioError('internal', `realignment (${method}) produced non-finite values`)
  return { method, dim, matrix, pairs: pairs.length, lambda, fitMs: performance.now() - t0 }
}

/** normalize(x·W). */
export function applyRealignment(x: Vec, matrix: ArrayLike<number>, dim: number): Vec {
  return normalize(vecMat(x, matrix, dim))
}
