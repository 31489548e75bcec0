// CLI bench (plain Node: the studio's services run in this process). Library import at scale: generated
// 640×480 JPEGs in albums of 1,000, imported through services (library.addRoot → library.waitForScans) by the
// previous path (PREVIOUS_PATH: one file at a time, a commit per row, thumbnails one by one after the walk)
// and by the pipeline ([Note: scan pipeline]), in the same run, on fresh data folders.
// [Note: import bench] What is timed, from the addRoot call: "first rows" — a simulated grid that does what
// the renderer does on library.changed (coalesced 400 ms: listIds, counts, the first 60 summaries and
// library.visible) gets its first non-empty page; "rows" — every row written (the scan's 'thumbnails'
// phase); "done" — waitForScans resolves, every thumbnail made. files/s is files ÷ done (thumbnails
// included, the same work on both paths). The main event loop's stalls: a 10 ms timer's worst lateness and
// perf_hooks.monitorEventLoopDelay's max while the import runs (the simulated grid's calls included).
// The previous path keeps the thumbnail routine it had when issue 14 was filed (FILED_THUMB_WEBP: libwebp
// effort 4; library/thumbnails.ts [Note: thumbnail effort]); it runs a second time with today's routine
// (effort 1), a column beside it, so the share of the ratio that is the cheaper thumbnail is visible.
// Then a rescan of the unchanged library (pipeline), and a sweep of the number of files examined at once.
import { existsSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { coalesce } from '@shared/coalesce'
import type { ScanResult } from '@shared/contract/library'
import { PREVIOUS_PATH, type ScanOptions } from '../../library/scanner'
import { THUMB_WEBP } from '../../library/thumbnails'
import { createServices, type Services } from '../../services/services'
import { makePhotos } from './library'
import { watchLoop } from './loop-watch'
import { ALBUM, type ImportRun, type ImportScaleBench } from './import-scale-report'

/** `files` photos (640×480) in albums of 1,000 under `dir`, made once (existing files are kept). */
export async function ensureScalePhotos(dir: string, files: number, log: (m: string) => void): Promise<string[]> {
  const albums: string[] = []
  for (let a = 0; a * ALBUM < files; a++) {
    const sub = join(dir, `album-${String(a).padStart(2, '0')}`)
    const n = Math.min(ALBUM, files - a * ALBUM)
    if (!existsSync(sub) || a % 5 === 0) log(`import at scale: photos ${a * ALBUM}–${a * ALBUM + n - 1}`)
    await makePhotos(sub, n, 640, 480, a * ALBUM)
    albums.push(sub)
  }
  return albums
}

/** Size of the studio database's write-ahead log now (0 when there is none). */
function walBytes(s: Services): number {
  try {
    return statSync(`${s.ctx.db.name}-wal`).size
  } catch {
    return 0
  }
}

/** The renderer's reaction to library events, as in lib/studio.svelte.ts; notes when rows first arrive. */
function simulatedGrid(s: Services, t0: number): { firstRows: () => number | null; stop: () => void } {
  let first: number | null = null
  let busy = false
  const refresh = async () => {
    if (busy) return refresher.request(400)
    busy = true
    try {
      const { ids } = (await s.call('library.listIds', { filter: 'all' })) as { ids: number[] }
      await s.call('library.counts', {})
      const shown = ids.slice(0, 60)
      if (shown.length > 0) {
        const rows = (await s.call('library.getImages', { ids: shown })) as unknown[]
        await s.call('library.visible', { ids: shown })
        if (rows.length > 0 && first === null) first = (performance.now() - t0) / 1000
      }
    } finally {
      busy = false
    }
  }
  const refresher = coalesce(() => void refresh(), 400)
  const off = s.ctx.subscribe((e) => {
    if (e.type === 'library.changed') refresher.request(400)
    else if (e.type === 'library.scan' && e.phase !== 'walking') refresher.request(0)
  })
  return { firstRows: () => first, stop: () => (off(), refresher.cancel()) }
}

async function importRun(roots: readonly string[], dataDir: string, bundledPacksDir: string, scan: ScanOptions): Promise<{ run: ImportRun; services: Services; results: ScanResult[] }> {
  rmSync(dataDir, { recursive: true, force: true })
  const services = createServices(dataDir, 'cli', { bundledPacksDir, resumeJobs: false, scan })
  const t0 = performance.now()
  const grid = simulatedGrid(services, t0)
  let rowsAt: number | null = null
  let listed = 0
  const off = services.ctx.subscribe((e) => {
    if (e.type === 'library.scan' && e.phase === 'thumbnails' && ++listed === roots.length) rowsAt = (performance.now() - t0) / 1000
  })
  const w = await watchLoop(async () => {
    // roots one after the other
    const results: ScanResult[] = []
    for (const a of roots) {
      await services.call('library.addRoot', { path: a })
      results.push(...((await services.call('library.waitForScans', {})) as ScanResult[]).filter((r) => !results.some((x) => x.rootId === r.rootId)))
    }
    return results
  }, `import ${roots.length} root(s)`)
  const doneSeconds = (performance.now() - t0) / 1000
  grid.stop()
  off()
  const files = w.value.reduce((n, r) => n + r.seen, 0)
  const run: ImportRun = {
    files,
    roots: roots.length,
    firstRowsSeconds: grid.firstRows(),
    rowsSeconds: rowsAt,
    doneSeconds,
    filesPerSec: files / doneSeconds,
    rowsPerSec: rowsAt ? files / rowsAt : null,
    loopMaxMs: w.maxMs,
    loopHistMaxMs: w.histMaxMs,
    loopP99Ms: w.p99Ms,
    errors: w.value.reduce((n, r) => n + r.errors, 0)
  }
  return { run, services, results: w.value }
}

export interface ImportScaleOptions {
  /** Holds exactly the `files` photos (album-00, album-01…): the pipeline imports it as one root. */
  photosDir: string
  scratch: string
  bundledPacksDir: string
  files: number
  /** Files the previous path imports (its rate is compared; it is the slow one). */
  previousFiles: number
  log: (m: string) => void
}

export async function benchImportScale(o: ImportScaleOptions): Promise<ImportScaleBench> {
  const albums = await ensureScalePhotos(o.photosDir, o.files, o.log)
  const prevAlbums = albums.slice(0, Math.max(1, Math.round(o.previousFiles / ALBUM)))

  // The loop's lateness with nothing running: on a shared machine the OS alone delays timers this much.
  const idle = await watchLoop(() => new Promise((r) => setTimeout(r, 5000)))
  o.log(`import at scale: idle loop stall max ${idle.maxMs.toFixed(0)} ms`)
  o.log(`import at scale: previous path over ${prevAlbums.length} album(s), one root each, one after the other`)
  const prev = await importRun(prevAlbums, join(o.scratch, 'previous'), o.bundledPacksDir, PREVIOUS_PATH)
  await prev.services.close()
  o.log(`import at scale: previous ${JSON.stringify(prev.run)}`)
  const prevToday = await importRun(prevAlbums, join(o.scratch, 'previous-today'), o.bundledPacksDir, { ...PREVIOUS_PATH, thumbWebp: THUMB_WEBP })
  await prevToday.services.close()
  o.log(`import at scale: previous path with today's thumbnail routine ${JSON.stringify(prevToday.run)}`)

  o.log(`import at scale: pipeline over ${o.photosDir} (${albums.length} album folders, one root)`)
  const cur = await importRun([o.photosDir], join(o.scratch, 'pipeline'), o.bundledPacksDir, {})
  o.log(`import at scale: pipeline ${JSON.stringify(cur.run)}`)
  o.log(`import at scale: pipeline database: log ${(walBytes(cur.services) / 2 ** 20).toFixed(1)} MiB, checkpoints ${JSON.stringify(cur.services.ctx.checkpoints.stats())}`)
  let rescan: ImportScaleBench['rescan']
  try {
    const t = performance.now()
    const w = await watchLoop(async () => {
      for (const r of cur.results) await cur.services.call('library.rescan', { rootId: r.rootId })
      return (await cur.services.call('library.waitForScans', {})) as ScanResult[]
    }, 'rescan')
    const again = w.value.filter((r) => cur.results.some((x) => x.rootId === r.rootId))
    rescan = { seconds: (performance.now() - t) / 1000, loopMaxMs: w.maxMs, added: again.reduce((n, r) => n + r.added, 0), changed: again.reduce((n, r) => n + r.changed, 0) }
    o.log(`import at scale: rescan ${JSON.stringify(rescan)}`)
  } finally {
    await cur.services.close()
  }

  // How many files to examine at once: rows of the first album only (thumbnails are cancelled once the rows are in).
  const sweep: ImportScaleBench['sweep'] = []
  for (const parallel of [1, 2, 4, 8, 16]) {
    const dataDir = join(o.scratch, `sweep-${parallel}`)
    rmSync(dataDir, { recursive: true, force: true })
    const s = createServices(dataDir, 'cli', { bundledPacksDir: o.bundledPacksDir, resumeJobs: false, scan: { parallel } })
    try {
      const t0 = performance.now()
      const rows = new Promise<number>((resolve) => {
        const off = s.ctx.subscribe((e) => {
          if (e.type === 'library.scan' && e.phase === 'thumbnails') {
            off()
            resolve((performance.now() - t0) / 1000)
            void s.call('library.removeRoot', { rootId: e.rootId })
          }
        })
      })
      await s.call('library.addRoot', { path: albums[0]! })
      const rowsSeconds = await rows
      await s.call('library.waitForScans', {})
      sweep.push({ parallel, rowsSeconds, rowsPerSec: Math.min(ALBUM, o.files) / rowsSeconds })
    } finally {
      await s.close()
    }
  }
  o.log(`import at scale: sweep ${JSON.stringify(sweep)}`)
  rmSync(o.scratch, { recursive: true, force: true })
  return { width: 640, height: 480, cores: availableParallelism(), idleLoopMaxMs: idle.maxMs, previous: prev.run, previousTodayThumbs: prevToday.run, pipeline: cur.run, rescan, sweep }
}
