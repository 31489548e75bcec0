// Any Node process (pure). Choosing a pack's default configuration from measured runs on one split.
// [Note: the choice rule] The model kit's rule, kept for the TypeScript sweep: CIDEr-D and truth rate count
// equally, each divided by the best value among the candidates (score = C/Cmax + T/Tmax); ties go to the
// higher truth rate, then to the faster configuration. Splits without scenes (no truth) use CIDEr-D alone.
import type { RunResult } from './harness'

export interface Pick {
  config: string
  score: number
  ranking: { config: string; score: number }[]
}

export function pickDefault(runs: readonly RunResult[], candidates: readonly string[]): Pick | null {
  const rs = runs.filter((r) => candidates.includes(r.config))
  if (rs.length === 0) return null
  const maxC = Math.max(...rs.map((r) => r.scores.ciderD))
  const truths = rs.map((r) => r.scores.truth).filter((t): t is number => t !== null)
  const maxT = truths.length === rs.length ? Math.max(...truths) : 0
  const scoreOf = (r: RunResult) => (maxC > 0 ? r.scores.ciderD / maxC : 0) + (maxT > 0 ? (r.scores.truth ?? 0) / maxT : 0)
  const sorted = [...rs].sort((a, b) => scoreOf(b) - scoreOf(a) || (b.scores.truth ?? 0) - (a.scores.truth ?? 0) || a.msPerImage - b.msPerImage)
  const ranking = sorted.map((r) => ({ config: r.config, score: scoreOf(r) }))
  return { config: ranking[0]!.config, score: ranking[0]!.score, ranking }
}
