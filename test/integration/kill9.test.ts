// kill -9 anywhere: the BUILT serve host (out/main/serve.js; build first with `npx electron-vite build`,
// skipped with a message otherwise) is SIGKILLed at 20 random points of a batch caption job and at 20
// random points of a find & replace apply, and restarted on the same data each time. After every kill:
// `PRAGMA integrity_check` is ok, every caption accepted before the kill is still accepted, no image has
// two accepted captions, a replace is all-or-nothing; after every restart the interrupted job resumes (its
// done count grows); in the end the job is done with every image accepted exactly once. KILL_SEED replays
// the kill points (the seed is printed).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { expectSurvived, inspect, KILL_SEED, rowsLibrary, seededRandom, sleep, until } from '../fixtures/kill-points'
import { serveBuilt, startServeChild, type ServeChild } from '../fixtures/serve-process'
import { tempDir } from '../fixtures/images'

if (!serveBuilt) console.warn('kill9.test.ts: out/main/serve.js is missing — run `npx electron-vite build` first; skipping')

const KILLS = 20
// Enough images that the job outlives 20 lives (a life accepts ~10 here: restart, engine load, a chunk or a few)
const IMAGES = 300
const SEED = KILL_SEED
const random = seededRandom(SEED)

interface Job { id: number; state: string; done: number; failed: number; total: number }

/** `n` distinct small images (a different pixel pattern each, so no two share a content hash). */
async function distinctImages(dir: string, n: number): Promise<void> {
  mkdirSync(dir, { recursive: true })
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(24 * 24 * 3)
    for (let j = 0; j < px.length; j++) px[j] = (j * 7 + i * 13 + ((i >> 3) & 0xff) * j) & 0xff
    await sharp(px, { raw: { width: 24, height: 24, channels: 3 } }).png().toFile(join(dir, `img-${String(i).padStart(4, '0')}.png`))
  }
}

describe.skipIf(!serveBuilt)('kill -9 anywhere', () => {
  it(`during a batch caption job: ${KILLS} kills, nothing accepted is lost or doubled, the job resumes and finishes`, async () => {
    const photos = tempDir('kill-photos')
    await distinctImages(photos, IMAGES)
    const dataDir = tempDir('kill-batch-data')
    let serve: ServeChild = await startServeChild(dataDir, ['--add', photos])
    const survived: number[] = []
    let resumed = 0
    try {
      await serve.call('library.waitForScans', {})
      const job = await serve.call<Job>('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' }, autoAcceptAbove: 0 })
      expect(job.total).toBe(IMAGES)
      let done = 0
      for (let k = 0; k < KILLS; k++) {
        // A random point: in two lives of three after the resumed job has made progress in this life (which
        // proves it resumed), then 0–1.2 s on (mid-chunk or a few chunks later); otherwise 0–1.5 s after start
        // (while the engine loads or mid first chunk).
        if (random() < 2 / 3 || k === 0) {
          const now = await until('the job resumes', 60_000, async () => {
            const j = (await serve.call<{ job: Job }>('jobs.get', { jobId: job.id })).job
            return j.state === 'done' ? { ...j, done: Infinity } : j.done > done ? j : null
          })
          if (now.done === Infinity) break
          resumed++
          await sleep(Math.floor(random() * 1200))
        } else await sleep(Math.floor(random() * 1500))
        const before = inspect(dataDir).accepted
        await serve.kill9()
        done = expectSurvived(dataDir, `kill ${k}`, { kept: before }).accepted.size
        survived.push(done)
        serve = await startServeChild(dataDir)
      }
      const final = await until('the job finishes', 300_000, async () => {
        const j = (await serve.call<{ job: Job }>('jobs.get', { jobId: job.id })).job
        return j.state === 'done' ? j : null
      })
      expect(final.done + final.failed).toBe(IMAGES)
      expect(final.failed).toBe(0)
      await serve.stop()
      expectSurvived(dataDir, 'the end', { count: IMAGES })
      process.stdout.write(`[kill9] seed ${SEED}: batch survived ${survived.length} kills (accepted at each: ${survived.join(', ')}; seen resuming in ${resumed} lives)\n`)
      expect(survived.length).toBe(KILLS)
    } finally {
      await serve.kill9()
    }
  }, 600_000)

  it(`during a find & replace apply: ${KILLS} kills, each apply is all or nothing, no caption is lost`, async () => {
    const N = 1500
    const dataDir = tempDir('kill-replace-data')
    await rowsLibrary(dataDir, N, N, (i) => `a small shape number ${i}`)
    let serve = await startServeChild(dataDir)
    const words = ['shape', 'form']
    let current = 1 // after the measuring apply below, the captions say words[1]
    let applied = 0
    let rolledBack = 0
    try {
      // one apply to measure how long the window is
      const t0 = Date.now()
      await serve.call('review.replaceApply', { find: words[0], replace: words[1] })
      const window = Date.now() - t0
      for (let k = 0; k < KILLS; k++) {
        const from = words[current]!
        const to = words[1 - current]!
        const pending = serve.call('review.replaceApply', { find: from, replace: to }).catch(() => null)
        await sleep(Math.floor(random() * window * 2.5))
        await serve.kill9()
        await pending
        const after = expectSurvived(dataDir, `kill ${k}`, { count: N })
        const withTo = [...after.accepted.values()].filter((c) => c.text.includes(` ${to} `)).length
        expect([0, N], `kill ${k}: ${withTo} of ${N} replaced (a replace is one transaction)`).toContain(withTo)
        if (withTo === N) {
          applied++
          current = 1 - current
        } else rolledBack++
        serve = await startServeChild(dataDir)
      }
      process.stdout.write(`[kill9] seed ${SEED}: replace window ${window} ms over ${N} captions; ${KILLS} kills: ${applied} after the commit, ${rolledBack} before it (rolled back)\n`)
    } finally {
      await serve.kill9()
    }
  }, 420_000)
})
