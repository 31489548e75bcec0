// Crash isolation ([Note: crash isolation]) through two hosts: the BUILT serve (out/main/serve.js, a child
// process started with --test-ops) and the services in this process (the CLI host) with the default
// supervised engine; both start the built engine entry as a child process. Test faults ([Note: engine
// faults]) make the engine abort (SIGABRT, as a native ONNX Runtime crash) or hang. Checked: an abort in a
// batch fails only the image that causes it, with the crash's message; the job captions the rest; a caption
// accepted before stays; the host survives and engine.status counts the restarts; a hang fails the request
// after the request window and the restarted engine answers; repeated crashes double the backoff; the
// engine process does not outlive a killed serve; the fault op is refused outside test hosts. Build first.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import type { StudioEvent } from '../../src/shared/contract'
import { EngineClient } from '../../src/main/engine/client/engine-client'
import { createServices } from '../../src/main/services/services'
import { serveBuilt, startServeChild } from '../fixtures/serve-process'
import { svgScene, tempDir } from '../fixtures/images'

if (!serveBuilt) console.warn('engine-crash.test.ts: out/main/serve.js is missing — run `npx electron-vite build` first; skipping')

const WINDOW_MS = 5000
const COLOURS = ['#d33', '#3a3', '#33d', '#dd3', '#d3d', '#3dd', '#888', '#f80', '#08f', '#80f']
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Host {
  call<T>(op: string, input: unknown): Promise<T>
  events: StudioEvent[]
  /** The host process is still running. */
  alive(): boolean
  /** serve only: SIGKILL the host. */
  kill9?(): Promise<void>
  close(): Promise<void>
}
interface Status {
  active: { packId: string } | null
  supervisor?: { isolation: string; pid: number | null; crashes: number; restartInMs: number; lastCrash: { reason: string; method: string | null } | null }
}

async function photos(): Promise<string> {
  const dir = tempDir('crash-photos')
  for (const [i, c] of COLOURS.entries()) writeFileSync(join(dir, `img-${String(i).padStart(2, '0')}.png`), await sharp(svgScene(48, 48, c, String(i))).png().toBuffer())
  return dir
}

async function inProcess(folder: string): Promise<Host> {
  const services = createServices(tempDir('crash-data'), 'cli', { testFaults: true, engine: new EngineClient({ supervision: { requestTimeoutMs: WINDOW_MS } }) })
  const events: StudioEvent[] = []
  services.ctx.subscribe((e) => events.push(e))
  await services.call('library.addRoot', { path: folder })
  return { call: <T>(op: string, input: unknown) => services.call(op, input) as Promise<T>, events, alive: () => true, close: () => services.close() }
}

async function serve(folder: string): Promise<Host> {
  process.env.STUDIO_ENGINE_TIMEOUT_MS = String(WINDOW_MS)
  const s = await startServeChild(tempDir('crash-serve-data'), ['--add', folder]).finally(() => delete process.env.STUDIO_ENGINE_TIMEOUT_MS)
  return { call: s.call, events: [], alive: () => s.proc.exitCode === null && s.proc.signalCode === null, kill9: s.kill9, close: s.stop }
}

/** A host with the library scanned and the demo pack active (opened and warmed). */
async function ready(make: (folder: string) => Promise<Host>): Promise<{ h: Host; id: (name: string) => number }> {
  const h = await make(await photos())
  await h.call('library.waitForScans', {})
  await h.call('models.activate', { id: 'shapes-demo' })
  const { ids } = await h.call<{ ids: number[] }>('library.listIds', {})
  const rows = await h.call<{ id: number; fileName: string }[]>('library.getImages', { ids })
  const byName = new Map(rows.map((r) => [r.fileName, r.id]))
  return { h, id: (name) => byName.get(name)! }
}

const hosts = [
  ['serve (built, child process)', serve],
  ['in-process services (CLI host)', inProcess]
] as const

describe.skipIf(!serveBuilt).each(hosts)('crash isolation through %s', (_name, make) => {
  it('an abort mid-batch fails the image that causes it, the engine restarts, the job finishes the rest, accepted captions stay', async () => {
    const { h, id } = await ready(make)
    try {
      await h.call('captions.accept', { imageId: id('img-00.png'), text: 'a caption typed by hand' })
      const hand = (await h.call<{ accepted: { id: number } }>('captions.forImage', { imageId: id('img-00.png') })).accepted
      await h.call('engine.testFault', { kind: 'abort', file: '/img-05.png' })
      const job = await h.call<{ id: number; total: number }>('jobs.startCaption', { scope: { kind: 'filter', filter: 'all' } })
      expect(job.total).toBe(9)
      await h.call('jobs.waitIdle', {})
      const r = await h.call<{ job: { state: string; done: number; failed: number }; failures: { imageId: number; error: string }[] }>('jobs.get', { jobId: job.id })
      expect(r.job).toMatchObject({ state: 'done', done: 8, failed: 1 })
      expect(r.failures.map((f) => f.imageId)).toEqual([id('img-05.png')])
      expect(r.failures[0]!.error).toMatch(/^the caption engine crashed while running "caption" \(signal SIGABRT.*\); it restarts in \d/)
      expect(h.alive()).toBe(true)
      // the chunk's crash, then the image alone again ([Note: crash isolation])
      const st = await h.call<Status>('engine.status', {})
      expect(st.supervisor).toMatchObject({ isolation: 'process', crashes: 2, lastCrash: { method: 'caption' } })
      expect(st.supervisor!.lastCrash!.reason).toMatch(/SIGABRT/)
      const mine = await h.call<{ accepted: { id: number; text: string } | null }>('captions.forImage', { imageId: id('img-00.png') })
      expect(mine.accepted).toMatchObject({ id: hand.id, text: 'a caption typed by hand' })
      const counts = await h.call<{ accepted: number; candidates: number }>('library.counts', {})
      expect(counts).toMatchObject({ accepted: 1, candidates: 8 })
      if (h.kill9 === undefined) expect(h.events.filter((e) => e.type === 'engine.crashed').map((e) => e.type === 'engine.crashed' && e.crashes)).toEqual([1, 2])
      // disarmed, the restarted engine captions the image that crashed it
      await h.call('engine.testFault', { kind: 'none' })
      const again = await h.call<{ candidates: unknown[] }>('engine.caption', { imageId: id('img-05.png') })
      expect(again.candidates.length).toBeGreaterThan(0)
      if (h.kill9) {
        // the engine process does not outlive its host (it exits when the IPC channel closes)
        const pid = (await h.call<Status>('engine.status', {})).supervisor!.pid!
        expect(() => process.kill(pid, 0)).not.toThrow()
        await h.kill9()
        const end = Date.now() + 10_000
        while (Date.now() < end && (() => { try { process.kill(pid, 0); return true } catch { return false } })()) await sleep(50)
        expect(() => process.kill(pid, 0)).toThrow()
      }
    } finally {
      await h.close()
    }
  }, 120_000)

  it('a hang fails the request after the window, the engine is restarted and answers again', async () => {
    const { h, id } = await ready(make)
    try {
      await h.call('engine.testFault', { kind: 'hang', once: true })
      const t0 = Date.now()
      const err = (await h.call('engine.caption', { imageId: id('img-02.png') }).catch((e: unknown) => e)) as Error & { code?: string }
      const waited = Date.now() - t0
      expect(err.message).toMatch(/the caption engine stopped answering \(no answer to "caption" for 5 s\); it was stopped and restarts in 0\.5 s$/)
      expect(err.code).toBe('internal')
      expect(waited).toBeGreaterThanOrEqual(WINDOW_MS)
      expect(waited).toBeLessThan(WINDOW_MS + 10_000)
      const st = await h.call<Status>('engine.status', {})
      expect(st.supervisor).toMatchObject({ crashes: 1, lastCrash: { reason: 'no answer to "caption" for 5 s', method: 'caption' } })
      const again = await h.call<{ candidates: unknown[] }>('engine.caption', { imageId: id('img-02.png') })
      expect(again.candidates.length).toBeGreaterThan(0)
      expect(h.alive()).toBe(true)
    } finally {
      await h.close()
    }
  }, 120_000)

  it('repeated crashes double the backoff and engine.status says so', async () => {
    const { h, id } = await ready(make)
    try {
      await h.call('engine.testFault', { kind: 'abort', file: '/img-03.png' })
      const delays: number[] = []
      for (let i = 0; i < 3; i++) {
        const err = (await h.call('engine.caption', { imageId: id('img-03.png') }).catch((e: unknown) => e)) as Error
        delays.push(Number(/restarts in ([\d.]+) s$/.exec(err.message)?.[1]))
      }
      expect(delays).toEqual([0.5, 1, 2])
      // in the backoff the status answers at once, with the pack it had and the restart to come
      const t0 = Date.now()
      const st = await h.call<Status>('engine.status', {})
      expect(Date.now() - t0).toBeLessThan(1000)
      expect(st.active?.packId).toBe('shapes-demo')
      expect(st.supervisor!.crashes).toBe(3)
      expect(st.supervisor!.restartInMs).toBeGreaterThan(500)
      // other images are captioned by the next engine
      const ok = await h.call<{ candidates: unknown[] }>('engine.caption', { imageId: id('img-04.png') })
      expect(ok.candidates.length).toBeGreaterThan(0)
      expect((await h.call<Status>('engine.status', {})).supervisor!.restartInMs).toBe(0)
    } finally {
      await h.close()
    }
  }, 120_000)
})

describe('engine.testFault outside test hosts', () => {
  it('is refused by services not started for tests', async () => {
    const s = createServices(tempDir('crash-refused'), 'cli', { resumeJobs: false })
    try {
      await expect(s.call('engine.testFault', { kind: 'abort' })).rejects.toMatchObject({ code: 'unauthorized' })
    } finally {
      await s.close()
    }
  })
})
