// Any Node process (pure). The import-at-scale bench's results (src/main/eval/bench/import-scale.ts): their
// types, the section of docs/benchmarks.md, and the ratios compared run to run.

export const ALBUM = 1000

export interface ImportRun {
  files: number
  roots: number
  firstRowsSeconds: number | null
  rowsSeconds: number | null
  doneSeconds: number
  filesPerSec: number
  rowsPerSec: number | null
  loopMaxMs: number
  loopHistMaxMs: number
  loopP99Ms: number
  errors: number
}

export interface ImportScaleBench {
  width: number
  height: number
  cores: number
  /** The 10 ms timer's worst lateness over 5 s with nothing running (the machine's own share of a stall). */
  idleLoopMaxMs: number
  previous: ImportRun
  /** The previous path with today's thumbnail routine (libwebp effort 1), for comparison. */
  previousTodayThumbs?: ImportRun
  pipeline: ImportRun
  rescan: { seconds: number; loopMaxMs: number; added: number; changed: number }
  sweep: { parallel: number; rowsSeconds: number; rowsPerSec: number }[]
}

const f1 = (x: number | null) => (x === null ? '–' : x.toFixed(1))
const f2 = (x: number | null) => (x === null ? '–' : x.toFixed(2))

/** The ratios `npm run bench` keeps in docs/benchmarks.json and compares run to run. */
export function importScaleRatios(b: ImportScaleBench): Record<string, number> {
  const out: Record<string, number> = { 'import at scale · pipeline ÷ previous path, files/s': b.pipeline.filesPerSec / b.previous.filesPerSec }
  if (b.rescan.seconds > 0) out['import at scale · first import ÷ rescan of the unchanged library, time'] = b.pipeline.doneSeconds / b.rescan.seconds
  return out
}

export function importScaleMarkdown(b: ImportScaleBench): string[] {
  const p = b.previous
  const c = b.pipeline
  const row = (name: string, r: ImportRun) =>
    `| ${name} | ${r.files} | ${f2(r.firstRowsSeconds)} | ${f1(r.rowsSeconds)} | ${f1(r.doneSeconds)} | ${f1(r.rowsPerSec)} | ${f1(r.filesPerSec)} | ${r.loopMaxMs.toFixed(0)} / ${r.loopHistMaxMs.toFixed(0)} |`
  return [
    '## Library import at scale',
    '',
    `Generated 640×480 JPEGs in album folders of 1,000, imported through the studio's services on a fresh data folder, ${b.cores} cores ([Note: import bench] in src/main/eval/bench/import-scale.ts). "previous path" is the scanner as it was (one file at a time, a commit per row, thumbnails one by one after the walk), over the first ${p.files} files, one album root after the other, with its thumbnail routine of the time (libwebp effort 4), and once more with today's (effort 1); "pipeline" is ${c.files} files as one root (8 files examined at once, one read for hash and header probe, rows in batched transactions, thumbnails by the background queue, 2 at once, visible first). Times in seconds from the addRoot call; first rows: a simulated grid (the renderer's refresh on library.changed, coalesced 400 ms) got its first page; rows: every row written; done: every thumbnail made. Loop stall: worst lateness of a 10 ms timer / monitorEventLoopDelay max, in ms, simulated grid included.`,
    '',
    '| path | files | first rows (s) | rows (s) | done (s) | rows / s | files / s (done) | loop stall max (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row('previous path', p),
    ...(b.previousTodayThumbs ? [row("previous path, today's thumbnail routine", b.previousTodayThumbs)] : []),
    row('pipeline', c),
    '',
    `- files/s, pipeline ÷ previous path: **${(c.filesPerSec / p.filesPerSec).toFixed(2)}×** (target ≥ 2×)${b.previousTodayThumbs ? `; against the previous path with today's thumbnail routine (libwebp effort 1 instead of 4): ${(c.filesPerSec / b.previousTodayThumbs.filesPerSec).toFixed(2)}×` : ''}; rows/s: ${p.rowsPerSec && c.rowsPerSec ? `${(c.rowsPerSec / p.rowsPerSec).toFixed(2)}×` : '–'}.`,
    `- first rows available ${f2(c.firstRowsSeconds)} s after the scan started (target ≤ 2 s).`,
    `- rescan of the unchanged ${c.files}-file library: ${b.rescan.seconds.toFixed(2)} s (${b.rescan.added} added, ${b.rescan.changed} changed), **${(c.doneSeconds / b.rescan.seconds).toFixed(1)}×** faster than its first import (target ≥ 20×); loop stall max ${b.rescan.loopMaxMs.toFixed(0)} ms.`,
    `- main event loop during the pipeline import: worst stall ${c.loopMaxMs.toFixed(0)} ms (target ≤ 50 ms), p99 of the delay histogram ${c.loopP99Ms.toFixed(1)} ms; the same timer over 5 s with nothing running: ${b.idleLoopMaxMs.toFixed(0)} ms.`,
    `- files examined at once (rows of one album of ${Math.min(ALBUM, c.files)}, thumbnails cancelled): ${b.sweep.map((s) => `${s.parallel} → ${s.rowsPerSec.toFixed(0)} rows/s`).join(', ')}.`,
    ''
  ]
}
