// Engine worker / any Node process (pure). Modality-gap analysis of (image, caption) embedding pairs.
// [Note: gap model test] MacCap models image = text + zero-mean Gaussian noise. With r_i = x_i − t_i
// (both L2-normalised) we report:
//   - the gap vector μ = mean(r), ‖μ‖, mean ‖x‖/‖t‖ (1 after normalisation, kept for raw inputs), E‖r‖²,
//     and meanShare = ‖μ‖² / E‖r‖² (how much of the image–text distance is a constant shift: 0 under
//     the zero-mean model);
//   - per-dimension mean and std of r, the t statistic μ_d / (σ_d/√n) and the share of dimensions with
//     |t| > 1.96 (≈ 0.05 under the zero-mean model);
//   - Gaussianity of the centred residuals z = (r_id − μ_d)/σ_d pooled over dimensions: skewness, excess
//     kurtosis, and the Kolmogorov–Smirnov distance to N(0, 1) with the nominal 5% critical value
//     1.36/√m (nominal only: dimensions are not independent), plus the spread of σ_d (isotropy);
//   - a 2-D PCA of the stacked image and text embeddings (power iteration with deflation);
//   - image→text R@1 over the pairs when each image is moved along the gap: normalize(x − f·μ).
import { StudioError } from '@shared/errors'
import { dot, normalize, type Vec } from '../math/linalg'

export interface GapAnalysis {
  n: number
  dim: number
  gap: number[]
  gapNorm: number
  meanImageNorm: number
  meanTextNorm: number
  meanSqDistance: number
  meanShare: number
  perDim: { mean: number[]; std: number[] }
  zeroMean: { meanAbsT: number; shareSignificant: number }
  gaussian: { skewness: number; excessKurtosis: number; ks: number; ksCritical05: number; stdMin: number; stdMax: number; stdCv: number }
  pca: { image: [number, number][]; text: [number, number][]; explained: [number, number]; gap: [number, number] }
  shift: { fraction: number; r1: number }[]
  /** Pooled raw residuals r_id = x_id − t_id (not centred), binned, with σ of the zero-mean Gaussian fit
   *  (σ² = E r²) so a plot can overlay N(0, σ²) and show how far the data are from the zero-mean model. */
  residualHistogram: { edges: number[]; counts: number[]; sigma: number; mean: number }
}

/** Histogram of every residual component over ±4σ (σ of the zero-mean fit), 48 bins; outliers clamp. */
export function residualHistogram(images: readonly Vec[], texts: readonly Vec[], bins = 48): GapAnalysis['residualHistogram'] {
  let s2 = 0
  let s1 = 0
  let m = 0
  for (let i = 0; i < images.length; i++) {
    for (let k = 0; k < images[i]!.length; k++) {
      const r = images[i]![k]! - texts[i]![k]!
      s1 += r
      s2 += r * r
      m++
    }
  }
  const sigma = Math.sqrt(s2 / Math.max(1, m))
  const lo = -4 * sigma
  const width = (8 * sigma) / bins || 1
  const counts = new Array<number>(bins).fill(0)
  for (let i = 0; i < images.length; i++) {
    for (let k = 0; k < images[i]!.length; k++) {
      const b = Math.floor((images[i]![k]! - texts[i]![k]! - lo) / width)
      counts[Math.max(0, Math.min(bins - 1, b))]!++
    }
  }
  return { edges: Array.from({ length: bins + 1 }, (_, j) => lo + j * width), counts, sigma, mean: s1 / Math.max(1, m) }
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x)
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y)
}

/** KS distance between the empirical CDF of `values` and N(0, 1). Sorts a copy. */
export function ksNormal(values: Float64Array): number {
  const s = Float64Array.from(values).sort()
  const m = s.length
  let d = 0
  for (let i = 0; i < m; i++) {
    const f = normalCdf(s[i]!)
    d = Math.max(d, Math.abs(f - i / m), Math.abs((i + 1) / m - f))
  }
  return d
}

function vecNorm(v: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  return Math.sqrt(s)
}

/** Top-2 principal directions of the centred rows (power iteration, deterministic start). */
function pca2(rows: Vec[], dim: number): { dirs: Float64Array[]; mean: Float64Array; explained: [number, number] } {
  const mean = new Float64Array(dim)
  for (const r of rows) for (let k = 0; k < dim; k++) mean[k]! += r[k]! / rows.length
  let total = 0
  for (const r of rows) for (let k = 0; k < dim; k++) total += (r[k]! - mean[k]!) ** 2
  const dirs: Float64Array[] = []
  const explained: number[] = []
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(dim).map((_, k) => 1 + ((k * 7919 + c * 104729) % 97) / 97)
    let lambda = 0
    for (let it = 0; it < 200; it++) {
      const next = new Float64Array(dim)
      for (const r of rows) {
        let p = 0
        for (let k = 0; k < dim; k++) p += (r[k]! - mean[k]!) * v[k]!
        for (let k = 0; k < dim; k++) next[k]! += p * (r[k]! - mean[k]!)
      }
      for (const d of dirs) {
        let p = 0
        for (let k = 0; k < dim; k++) p += next[k]! * d[k]!
        for (let k = 0; k < dim; k++) next[k]! -= p * d[k]!
      }
      const n = vecNorm(next)
      if (n === 0) break
      const prev = lambda
      lambda = n
      v = next.map((x) => x / n)
      if (it > 5 && Math.abs(lambda - prev) < 1e-10 * lambda) break
    }
    // Sign convention: the largest-magnitude component is positive.
    let big = 0
    for (let k = 0; k < dim; k++) if (Math.abs(v[k]!) > Math.abs(v[big]!)) big = k
    if (v[big]! < 0) v = v.map((x) => -x)
    dirs.push(v)
    explained.push(total > 0 ? lambda / total : 0)
  }
  return { dirs, mean, explained: [explained[0] ?? 0, explained[1] ?? 0] }
}

function dotF(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!
  return s
}

export function recallAt1(images: Vec[], texts: Vec[]): number {
  let hits = 0
  images.forEach((x, i) => {
    let best = -Infinity
    let arg = -1
    texts.forEach((t, j) => {
      const s = dot(x, t)
      if (s > best) {
        best = s
        arg = j
      }
    })
    if (arg === i) hits++
  })
  return images.length ? hits / images.length : 0
}

export function analyzeGap(imagesRaw: readonly ArrayLike<number>[], textsRaw: readonly ArrayLike<number>[], fractions: readonly number[] = [0, 0.25, 0.5, 0.75, 1]): GapAnalysis {
  const n = imagesRaw.length
  if (n < 3 || textsRaw.length !== n) throw new StudioError('invalid_input', `gap analysis needs ≥ 3 pairs of equal count (got ${n} images, ${textsRaw.length} captions)`)
  const dim = imagesRaw[0]!.length
  const images = imagesRaw.map((x) => normalize(Float32Array.from(x)))
  const texts = textsRaw.map((x) => normalize(Float32Array.from(x)))
  const mu = new Float64Array(dim)
  let sq = 0
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dim; k++) {
      const r = images[i]![k]! - texts[i]![k]!
      mu[k]! += r / n
      sq += (r * r) / n
    }
  }
  const sd = new Float64Array(dim)
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) sd[k]! += (images[i]![k]! - texts[i]![k]! - mu[k]!) ** 2 / Math.max(1, n - 1)
  for (let k = 0; k < dim; k++) sd[k] = Math.sqrt(sd[k]!)
  const gapNorm = vecNorm(mu)
  let absT = 0
  let sig = 0
  for (let k = 0; k < dim; k++) {
    const t = sd[k]! > 0 ? mu[k]! / (sd[k]! / Math.sqrt(n)) : 0
    absT += Math.abs(t) / dim
    if (Math.abs(t) > 1.96) sig++
  }
  const z = new Float64Array(n * dim)
  let m3 = 0
  let m4 = 0
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dim; k++) {
      const v = sd[k]! > 0 ? (images[i]![k]! - texts[i]![k]! - mu[k]!) / sd[k]! : 0
      z[i * dim + k] = v
      m3 += v ** 3
      m4 += v ** 4
    }
  }
  const m = n * dim
  const sds = Array.from(sd)
  const sdMean = sds.reduce((a, b) => a + b, 0) / dim
  const sdCv = Math.sqrt(sds.reduce((a, b) => a + (b - sdMean) ** 2, 0) / dim) / (sdMean || 1)
  const { dirs, mean, explained } = pca2([...images, ...texts], dim)
  const project = (x: Vec): [number, number] => {
    const p: number[] = dirs.map((d) => {
      let s = 0
      for (let k = 0; k < dim; k++) s += (x[k]! - mean[k]!) * d[k]!
      return s
    })
    return [p[0] ?? 0, p[1] ?? 0]
  }
  const muF = Float32Array.from(mu)
  const shift = fractions.map((f) => ({
    fraction: f,
    r1: recallAt1(
      images.map((x) => normalize(x.map((v, k) => v - f * muF[k]!))),
      texts
    )
  }))
  return {
    n,
    dim,
    gap: Array.from(mu),
    gapNorm,
    meanImageNorm: imagesRaw.reduce((s, x) => s + vecNorm(x), 0) / n,
    meanTextNorm: textsRaw.reduce((s, x) => s + vecNorm(x), 0) / n,
    meanSqDistance: sq,
    meanShare: sq > 0 ? (gapNorm * gapNorm) / sq : 0,
    perDim: { mean: Array.from(mu), std: sds },
    zeroMean: { meanAbsT: absT, shareSignificant: sig / dim },
    gaussian: {
      skewness: m3 / m,
      excessKurtosis: m4 / m - 3,
      ks: ksNormal(z),
      ksCritical05: 1.36 / Math.sqrt(m),
      stdMin: Math.min(...sds),
      stdMax: Math.max(...sds),
      stdCv: sdCv
    },
    pca: { image: images.map(project), text: texts.map(project), explained, gap: [dirs[0] ? dotF(dirs[0], mu) : 0, dirs[1] ? dotF(dirs[1], mu) : 0] },
    shift,
    residualHistogram: residualHistogram(images, texts)
  }
}
