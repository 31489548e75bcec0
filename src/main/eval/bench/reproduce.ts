// Any Node process (pure). The ratios of a benchmark run as a flat record, and their comparison with the
// previous run's, so that docs/benchmarks.md shows whether a re-run reproduces the figures.
// [Note: what is compared] Only ratios measured side by side within one run (ours ÷ raw, ours ÷
// transformers.js, import ÷ sharp, transactions ÷ autocommit, studio batch ÷ in-process): absolute rates drift
// on a shared machine, ratios should not. The previous run is read from docs/benchmarks.json, written next to
// the markdown by every run.
import type { BenchRow } from './clip-bench'
import { importScaleRatios } from './import-scale-report'
import { rowsFor, type BenchDoc } from './report'

export interface RatioRecord {
  commit: string
  date: string
  command: string
  ratios: Record<string, number>
}

export interface ReproRow {
  key: string
  before: number
  now: number
  /** now ÷ before − 1 */
  change: number
}

export function ratiosOf(d: BenchDoc): Record<string, number> {
  const out: Record<string, number> = {}
  const put = (k: string, a: number, b: number) => {
    if (Number.isFinite(a) && Number.isFinite(b) && b > 0) out[k] = a / b
  }
  for (const c of d.clip) {
    for (const stage of [...new Set(c.rows.map((r) => r.stage))]) {
      const { raw, ours, tjs, noCache, jsNext } = rowsFor(c.rows, stage)
      const ips = (r: BenchRow | undefined) => r?.summary.itemsPerSec ?? NaN
      put(`${c.pack} · ${stage} · ours ÷ raw`, ips(ours), ips(raw))
      put(`${c.pack} · ${stage} · ours ÷ ours without cache`, ips(ours), ips(noCache))
      put(`${c.pack} · ${stage} · ours ÷ transformers.js`, ips(ours), ips(tjs))
      put(`${c.pack} · ${stage} · ours ÷ ours with the JS next-token path`, ips(ours), ips(jsNext))
    }
  }
  if (d.importBench) put('import · studio ÷ sharp one at a time', d.importBench.oursFilesPerSec, d.importBench.sharpSequentialFilesPerSec)
  if (d.importScale) Object.assign(out, importScaleRatios(d.importScale))
  if (d.sqlite) put('SQLite · transactions ÷ autocommit', d.sqlite.transactionRowsPerSec, d.sqlite.autocommitRowsPerSec)
  if (d.batch && d.inProcess) put('batch · studio job ÷ in-process', d.batch.imagesPerSec, d.inProcess.imagesPerSec)
  if (d.batchVitb32) put(`batch ${d.batchVitb32.pack} · studio job ÷ in-process`, d.batchVitb32.batch.imagesPerSec, d.batchVitb32.inProcess.imagesPerSec)
  if (d.retrieval) {
    const c = d.retrieval.child
    put(`retrieval ${d.retrieval.rows} rows · exact JS scan p50 ÷ index p50`, c.exact.jsP50, c.chosen.p50)
    put(`retrieval ${d.retrieval.rows} rows · usearch brute force p50 ÷ index p50`, c.exact.bruteP50, c.chosen.p50)
  }
  return out
}

export function compareRatios(prev: RatioRecord | null, now: Record<string, number>): ReproRow[] {
  if (!prev) return []
  return Object.keys(now)
    .filter((k) => typeof prev.ratios[k] === 'number')
    .map((key) => ({ key, before: prev.ratios[key]!, now: now[key]!, change: now[key]! / prev.ratios[key]! - 1 }))
}

export function parseRatioRecord(text: string): RatioRecord | null {
  try {
    const j = JSON.parse(text) as Partial<RatioRecord>
    if (typeof j.commit !== 'string' || typeof j.date !== 'string' || !j.ratios || typeof j.ratios !== 'object') return null
    const ratios: Record<string, number> = {}
    for (const [k, v] of Object.entries(j.ratios)) if (typeof v === 'number' && Number.isFinite(v)) ratios[k] = v
    return { commit: j.commit, date: j.date, command: typeof j.command === 'string' ? j.command : '', ratios }
  } catch {
    return null
  }
}
