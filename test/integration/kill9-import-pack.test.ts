// kill -9 anywhere, part 2 (part 1: kill9.test.ts): the BUILT serve host (out/main/serve.js; skipped with a
// message when it is not built) is SIGKILLed at 20 random points of an import apply (metadata.jsonl and a
// mirror folder of .txt sidecars, alternately) and at 20 random points of a photo-pack build and install
// (assembled from the local fake hub, test/fixtures/photo-hub.ts), restarted on the same data each time.
// After every kill: `PRAGMA integrity_check` ok, the accepted captions from before the kill still accepted
// (the same rows), no image with two accepted captions; an import is all or nothing; no pack folder is
// visible that does not verify, and the active pack verifies after the restart; the interrupted build
// resumes (it is never left failed) and in the end is done, installed and active. KILL_SEED replays.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import type { ImportSummary } from '../../src/shared/contract/interop'
import { startFakeHub } from '../fixtures/fake-hub'
import { tempDir } from '../fixtures/images'
import { expectSurvived, inspect, KILL_SEED, rowsLibrary, seededRandom, sleep, until } from '../fixtures/kill-points'
import { buildPhotoHub, photoHubUnavailable, REPO, REVISION } from '../fixtures/photo-hub'
import { dbPath, serveBuilt, startServeChild, type ServeChild } from '../fixtures/serve-process'

if (!serveBuilt) console.warn('kill9-import-pack.test.ts: out/main/serve.js is missing — run `npx electron-vite build` first; skipping')
const noHub = photoHubUnavailable()
if (noHub) console.warn(`kill9-import-pack.test.ts: pack-build part skipped: ${noHub}`)

const KILLS = 20
const random = seededRandom(KILL_SEED)

interface Job { id: number; kind: string; state: string; error: string | null; stage?: { name: string } }

describe.skipIf(!serveBuilt)('kill -9 anywhere (import, pack build)', () => {
  it(`during an import apply: ${KILLS} kills, each import is all or nothing, no accepted caption is lost or doubled`, async () => {
    const N = 800 // imported images
    const KEEP = 300 // images with a typed caption that no source names
    const dataDir = tempDir('kill-import-data')
    const rootDir = await rowsLibrary(dataDir, KEEP + N, KEEP, (i) => `typed by hand number ${i}`)
    const words = ['alpha', 'omega']
    const text = (w: string, i: number) => `an imported ${w} caption for picture ${i}`
    // per word: a metadata.jsonl and a mirror folder of .txt sidecars (outside the root)
    const sources = words.map((w) => {
      const jsonl = tempDir(`kill-import-jsonl-${w}`)
      const lines: string[] = []
      for (let i = KEEP; i < KEEP + N; i++) lines.push(JSON.stringify({ file_name: `p/${i}.png`, text: text(w, i) }))
      writeFileSync(join(jsonl, 'metadata.jsonl'), lines.join('\n') + '\n')
      const txt = tempDir(`kill-import-txt-${w}`)
      mkdirSync(join(txt, 'p'))
      for (let i = KEEP; i < KEEP + N; i++) writeFileSync(join(txt, 'p', `${i}.txt`), text(w, i) + '\n')
      return {
        jsonl: { format: 'jsonl', path: join(jsonl, 'metadata.jsonl'), imagesDir: rootDir, overwrite: true },
        txt: { format: 'txt', path: txt, overwrite: true }
      }
    })
    const typed = inspect(dataDir).accepted
    expect(typed.size).toBe(KEEP)
    let serve: ServeChild = await startServeChild(dataDir)
    let current = 0
    let commits = 1 // the measuring apply below
    let rolledBack = 0
    const windows: number[] = []
    try {
      for (const format of ['jsonl', 'txt'] as const) {
        const t0 = Date.now()
        const r = await serve.call<ImportSummary>('interop.importApply', sources[format === 'jsonl' ? 0 : 1]![format])
        windows.push(Date.now() - t0)
        // first the N images are new, then the txt import of the other word replaces them all
        expect(format === 'jsonl' ? r.newCaptions : r.replaced, `${format} apply`).toBe(N)
        current = format === 'jsonl' ? 0 : 1
        if (format === 'txt') commits++
      }
      const window = Math.max(...windows)
      for (let k = 0; k < KILLS; k++) {
        const to = 1 - current
        const format = k % 2 === 0 ? 'jsonl' : 'txt'
        const before = inspect(dataDir).accepted
        const pending = serve.call('interop.importApply', sources[to]![format]).catch(() => null)
        await sleep(Math.floor(random() * window * 2))
        await serve.kill9()
        await pending
        const after = expectSurvived(dataDir, `kill ${k}`, { kept: typed, count: KEEP + N })
        const imported = [...after.accepted.entries()].filter(([id]) => !typed.has(id))
        const switched = imported.filter(([, c]) => c.text.includes(` ${words[to]} `)).length
        expect([0, N], `kill ${k} (${format}): ${switched} of ${N} imported (an import is one transaction)`).toContain(switched)
        if (switched === N) {
          commits++
          current = to
        } else {
          rolledBack++
          // nothing of the rolled-back import is visible: every imported caption is the row from before the kill
          for (const [id, c] of imported) expect(c.id, `kill ${k}: image ${id}`).toBe(before.get(id)?.id)
        }
        serve = await startServeChild(dataDir)
      }
      // restartable: the same import again after the last kill finishes, and a second run is a no-op
      const again = await serve.call<ImportSummary>('interop.importApply', sources[1 - current]!.jsonl)
      expect(again.replaced).toBe(N)
      commits++
      const noop = await serve.call<ImportSummary>('interop.importApply', sources[1 - current]!.jsonl)
      expect(noop.sameCaptions).toBe(N)
      expect(noop.replaced + noop.newCaptions + noop.candidates).toBe(0)
      await serve.stop()
      // the history holds one row per committed import per image, plus the typed ones: nothing half-written
      const db = new Database(dbPath(dataDir), { readonly: true })
      const rows = (db.prepare(`SELECT COUNT(*) AS n FROM captions`).get() as { n: number }).n
      db.close()
      expect(rows).toBe(KEEP + N * commits)
      process.stdout.write(`[kill9] seed ${KILL_SEED}: import window ${window} ms over ${N} captions (jsonl ${windows[0]} ms, txt ${windows[1]} ms); ${KILLS} kills: ${commits - 3} after the commit, ${rolledBack} before it (rolled back)\n`)
    } finally {
      await serve.kill9()
    }
  }, 300_000)

  it.skipIf(!!noHub)(`during a photo-pack build and install: ${KILLS} kills, never a pack that does not verify, the build resumes and installs`, async () => {
    const hub = buildPhotoHub()
    const server = await startFakeHub({ repo: REPO, revision: REVISION, repoDir: hub.repoDir, filesDir: hub.filesDir })
    const oldEndpoint = process.env.HF_ENDPOINT
    process.env.HF_ENDPOINT = server.endpoint // the serve children inherit it
    const dataDir = tempDir('kill-pack-data')
    const catalog = join(tempDir('kill-pack-catalog'), 'catalog.json')
    writeFileSync(catalog, hub.catalog(server.endpoint))
    await rowsLibrary(dataDir, 50, 50, (i) => `typed by hand number ${i}`)
    const typed = inspect(dataDir).accepted
    const start = () => startServeChild(dataDir, ['--catalog', catalog])
    const packsDir = join(dataDir, 'packs')
    const PACK = 'photo-clip-vit-b32'
    let serve = await start()
    const get = () => serve.call<Job>('models.get', { clipId: 'clip-vit-b32', corpusId: 'coco-captions-2017', activate: true })
    const lastBuild = async () => {
      const jobs = await serve.call<Job[]>('jobs.list', {})
      return jobs.filter((j) => j.kind === 'pack-build').sort((a, b) => b.id - a.id)[0] ?? null
    }
    const stages: string[] = []
    let builds = 0
    let installedAfter = 0
    try {
      // one uninterrupted build measures the window (downloads, embedding, datastore, verify, install)
      const t0 = Date.now()
      let job = await get()
      builds++
      await until('the first build', 120_000, async () => ((await lastBuild())?.state === 'done' ? true : null))
      const window = Date.now() - t0
      for (let k = 0; k < KILLS; k++) {
        // a new build (a rebuild replaces the installed pack) when the last one finished, else the resumed one
        const last = await lastBuild()
        expect(last?.state, `life ${k}: the build after a restart`).not.toBe('failed')
        if (last?.state === 'done') {
          job = await get()
          builds++
        }
        await sleep(Math.floor(random() * window * 0.5))
        const seen = await lastBuild().catch(() => null)
        if (seen?.stage) stages.push(`${seen.state}:${seen.stage.name}`)
        await serve.kill9()
        expectSurvived(dataDir, `kill ${k}`, { kept: typed })
        // no pack folder is visible but the pack itself: staging and the old version are hidden (dot names)
        const visible = readdirSync(packsDir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.') && e.isDirectory()).map((e) => e.name)
        expect(visible.filter((n) => n !== PACK), `kill ${k}: stray pack folders`).toEqual([])
        serve = await start()
        const list = await serve.call<{ activeId: string | null; packs: { id: string; problem: string | null }[] }>('models.list', {})
        expect(list.packs.filter((p) => p.problem), `kill ${k}: packs with a problem`).toEqual([])
        if (visible.includes(PACK)) {
          installedAfter++
          const v = await serve.call<{ ok: boolean; problem: string | null }>('models.verify', { id: PACK })
          expect(v, `kill ${k}: the installed pack verifies`).toMatchObject({ ok: true, problem: null })
        }
        if (list.activeId) {
          const v = await serve.call<{ ok: boolean; problem: string | null }>('models.verify', { id: list.activeId })
          expect(v.ok, `kill ${k}: the active pack ${list.activeId} verifies (${v.problem})`).toBe(true)
        }
      }
      const end = await until('the last build finishes', 180_000, async () => {
        const j = await lastBuild()
        return j && (j.state === 'done' || j.state === 'failed') ? j : null
      })
      expect(end.error).toBeNull()
      expect(end.state).toBe('done')
      expect(end.id).toBe(job.id)
      const list = await serve.call<{ activeId: string | null }>('models.list', {})
      expect(list.activeId).toBe(PACK)
      expect((await serve.call<{ ok: boolean }>('models.verify', { id: PACK })).ok).toBe(true)
      await serve.stop()
      expect(readdirSync(join(dataDir, 'builds')).filter((n) => n.startsWith('job-')), 'build work folders left').toEqual([])
      process.stdout.write(`[kill9] seed ${KILL_SEED}: pack build window ${window} ms; ${KILLS} kills over ${builds} builds; installed pack present after ${installedAfter} kills; stages at the kills: ${stages.join(', ')}\n`)
    } finally {
      await serve.kill9()
      await server.close()
      if (oldEndpoint === undefined) delete process.env.HF_ENDPOINT
      else process.env.HF_ENDPOINT = oldEndpoint
    }
  }, 600_000)
})
