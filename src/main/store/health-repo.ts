// Main process (plain Node). The dataset health aggregates (contract/health.ts), all computed in SQL over the
// visible images: one statement for both histograms (see histograms()), one for tags, one for the counts.
// [Note: health at scale] No caption text or score leaves SQLite; the accepted captions are read once per
// summary. (better-sqlite3 binds JS numbers as REAL, so every bin index is CAST to an integer.)
import type { HealthBin, HealthSummary } from '@shared/contract/health'
import type { DB } from './db'
import { FILTER_SQL, ImagesRepo, VISIBLE, WORDS_SQL } from './images-repo'

const ACCEPTED_JOIN = `FROM images i JOIN captions acc ON acc.image_id = i.id AND acc.status = 'accepted' WHERE ${VISIBLE}`

export interface HealthQuery {
  lengthBins: number
  scoreKey: string
  scoreBins: number
  tags: number
}

/** Fills empty bins so the histogram has all `n` of them, in order. */
function dense(rows: { b: number; n: number }[], n: number, lo: number, width: number): HealthBin[] {
  const by = new Map(rows.map((r) => [r.b, r.n]))
  return Array.from({ length: n }, (_, k) => ({ lo: lo + k * width, hi: lo + (k + 1) * width, count: by.get(k) ?? 0 }))
}

export class HealthRepo {
  constructor(private readonly db: DB) {}

  summary(q: HealthQuery): HealthSummary {
    // the status-bar counts, plus the one the health view adds
    const c = new ImagesRepo(this.db).counts()
    const failed = this.db.prepare(`SELECT count(*) AS n FROM images i WHERE ${VISIBLE} AND ${FILTER_SQL.failed}`).get() as { n: number }
    return {
      images: c.total,
      accepted: c.accepted,
      uncaptioned: c.uncaptioned,
      candidates: c.candidates,
      unreadable: c.errors,
      missing: c.missing,
      failed: failed.n,
      exactDuplicates: c.duplicates,
      ...this.histograms(q),
      tags: this.topTags(q.tags)
    }
  }

  /** Caption lengths and scores in one statement: the accepted captions are read once into a materialised
   *  CTE (words, score), their ranges taken from it, then both histograms are GROUP BYs over it. Length bins
   *  are whole words from the shortest caption, never narrower than one word; score bins are `scoreBins`
   *  equal bins from the lowest to the highest score, the highest in the last bin ([lo, hi] there). */
  private histograms(q: HealthQuery): Pick<HealthSummary, 'length' | 'score'> {
    const sql = `WITH a AS MATERIALIZED (SELECT ${WORDS_SQL('acc.text')} AS w, json_extract(acc.scores, @path) AS s ${ACCEPTED_JOIN}),
      r AS (SELECT min(w) AS lw, max(w) AS hw, avg(w) AS mw, min(s) AS ls, max(s) AS hs, avg(s) AS ms, count(s) AS ns, count(*) AS n FROM a),
      k AS (SELECT r.*, max(1, CAST((hw - lw + @lbins) / @lbins AS INTEGER)) AS ww, CASE WHEN hs > ls THEN (hs - ls) / @sbins ELSE 1.0 END AS ws,
              CASE WHEN hs > ls THEN @sbins ELSE 1 END AS sn FROM r)
      SELECT 'r' AS kind, NULL AS b, NULL AS c, lw, hw, mw, ls, hs, ms, ns, n, ww, ws, sn FROM k
      UNION ALL SELECT 'w', CAST((a.w - k.lw) / k.ww AS INTEGER), count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM a, k GROUP BY 2
      UNION ALL SELECT 's', min(CAST((a.s - k.ls) / k.ws AS INTEGER), k.sn - 1), count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM a, k WHERE a.s IS NOT NULL GROUP BY 2`
    const rows = this.db.prepare(sql).all({ path: `$.${q.scoreKey}`, lbins: q.lengthBins, sbins: q.scoreBins }) as {
      kind: 'r' | 'w' | 's'
      b: number
      c: number
      lw: number | null
      hw: number | null
      mw: number | null
      ls: unknown
      hs: unknown
      ms: number | null
      ns: number
      n: number
      ww: number
      ws: number
      sn: number
    }[]
    const r = rows.find((x) => x.kind === 'r')!
    const part = (kind: 'w' | 's') => rows.filter((x) => x.kind === kind).map((x) => ({ b: x.b, n: x.c }))
    const length: HealthSummary['length'] =
      r.lw === null || r.hw === null ? { bins: [], mean: null, max: null } : { bins: dense(part('w'), Math.ceil((r.hw - r.lw + 1) / r.ww), r.lw, r.ww), mean: r.mw, max: r.hw }
    // a score key whose values are not numbers (a string in scores JSON) has no histogram
    const numeric = typeof r.ls === 'number' && typeof r.hs === 'number'
    const score: HealthSummary['score'] = numeric
      ? { key: q.scoreKey, bins: dense(part('s'), r.sn, r.ls as number, r.ws), scored: r.ns, unscored: r.n - r.ns, mean: r.ms }
      : { key: q.scoreKey, bins: [], scored: 0, unscored: r.n, mean: null }
    return { length, score }
  }

  private topTags(limit: number): HealthSummary['tags'] {
    return this.db
      .prepare(
        `SELECT min(t.tag) AS tag, t.kind, count(DISTINCT t.image_id) AS images FROM image_tags t JOIN images i ON i.id = t.image_id
         WHERE ${VISIBLE} GROUP BY t.tag, t.kind ORDER BY images DESC, tag LIMIT ?`
      )
      .all(limit) as HealthSummary['tags']
  }
}
