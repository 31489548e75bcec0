// Any Node process (pure). CIDEr-D with coco-caption's definition (pycocoevalcap/cider/cider_scorer.py,
// which despite its name is CIDEr-D).
// [Note: CIDEr-D as coco-caption computes it]
//   - n-grams of order 1..4; a sentence becomes, per order n, a vector g ↦ tf(g)·(log N − log max(1, df(g))),
//     where N is the number of images being scored and df(g) the number of images whose REFERENCE set contains
//     g (document frequencies come from the references of the set being scored; candidates never count).
//   - Per order n and reference r: sim_n = Σ_g min(c_n[g], r_n[g])·r_n[g] / (‖c_n‖·‖r_n‖) (the min is
//     CIDEr-D's clipping; the division is skipped when a norm is 0), times the Gaussian length penalty
//     exp(−δ²/(2σ²)), σ = 6, where δ = the difference of the two sentences' "length".
//   - Quirk kept on purpose: coco-caption's "length" is the number of BIGRAMS (it adds term frequencies when
//     the order index equals 1, i.e. n = 2), so δ = |c| − |r| for non-empty sentences.
//   - Score of one candidate = 10 · mean over n of (Σ_r sim_n(c, r)) / (number of references).
//   - Corpus CIDEr-D = mean over candidates. With one image, log N = 0 and every score is 0, as in coco-caption.
import { allNgramCounts, type NgramCounts } from './ngrams'

export const CIDER_N = 4
export const CIDER_SIGMA = 6

interface TfIdf {
  vec: Map<string, number>[]
  norm: number[]
  length: number
}

function toTfIdf(counts: NgramCounts[], df: Map<string, number>, logN: number): TfIdf {
  const vec: Map<string, number>[] = []
  const norm: number[] = []
  let length = 0
  counts.forEach((c, n) => {
    const v = new Map<string, number>()
    let sq = 0
    for (const [g, tf] of c) {
      const w = tf * (logN - Math.log(Math.max(1, df.get(g) ?? 0)))
      v.set(g, w)
      sq += w * w
      if (n === 1) length += tf
    }
    vec.push(v)
    norm.push(Math.sqrt(sq))
  })
  return { vec, norm, length }
}

function sim(c: TfIdf, r: TfIdf, sigma: number): number[] {
  const delta = c.length - r.length
  const penalty = Math.exp(-(delta * delta) / (2 * sigma * sigma))
  const out: number[] = []
  for (let n = 0; n < c.vec.length; n++) {
    const cv = c.vec[n]!
    const rv = r.vec[n]!
    let val = 0
    for (const [g, w] of cv) {
      const rw = rv.get(g) ?? 0
      val += Math.min(w, rw) * rw
    }
    const cn = c.norm[n]!
    const rn = r.norm[n]!
    if (cn !== 0 && rn !== 0) val /= cn * rn
    out.push(val * penalty)
  }
  return out
}

export interface CiderResult {
  corpus: number
  perCandidate: number[]
}

export function ciderD(
  items: readonly { candidate: readonly string[]; references: readonly (readonly string[])[] }[],
  opts: { n?: number; sigma?: number } = {}
): CiderResult {
  const maxN = opts.n ?? CIDER_N
  const sigma = opts.sigma ?? CIDER_SIGMA
  const refCounts = items.map((it) => it.references.map((r) => allNgramCounts(r, maxN)))
  const df = new Map<string, number>()
  for (const refs of refCounts) {
    const seen = new Set<string>()
    for (const r of refs) for (const c of r) for (const g of c.keys()) seen.add(g)
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1)
  }
  const logN = Math.log(Math.max(1, items.length))
  const perCandidate = items.map((it, i) => {
    const c = toTfIdf(allNgramCounts(it.candidate, maxN), df, logN)
    const refs = refCounts[i]!
    if (refs.length === 0) return 0
    const sums = new Array<number>(maxN).fill(0)
    for (const rc of refs) {
      const s = sim(c, toTfIdf(rc, df, logN), sigma)
      for (let n = 0; n < maxN; n++) sums[n] = sums[n]! + s[n]!
    }
    const mean = sums.reduce((a, b) => a + b, 0) / maxN
    return (mean / refs.length) * 10
  })
  const corpus = perCandidate.length > 0 ? perCandidate.reduce((a, b) => a + b, 0) / perCandidate.length : 0
  return { corpus, perCandidate }
}
