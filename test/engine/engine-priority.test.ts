// [Note: engine niceness] The BUILT engine (out/main/engine-worker.js) lowers its own scheduling priority at
// init and nothing else's: as a child process its nice value is the host's + 10 (the default) or what the
// client asks; as a worker thread (Linux: nice values are per thread) the engine's threads are lowered and the
// host's main thread keeps its priority. The pure rule refuses to lower a worker thread where that would lower
// the whole process. Build first; without out/ the engine part is skipped.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineClient, engineNiceness } from '../../src/main/engine/client/engine-client'
import { lowerEnginePriority } from '../../src/main/engine/worker/priority'
import { writeFakePack } from './helpers/fake-pack'

const WORKER = resolve(__dirname, '../../out/main/engine-worker.js')
const built = existsSync(WORKER)
const linux = process.platform === 'linux'
if (!built) console.warn('engine-priority.test.ts: out/main/engine-worker.js is missing — run `npx electron-vite build` first; skipping the engine part')

/** The nice value of one thread (or a process's main thread) from /proc (field 19 of stat). */
function niceOf(pid: number, tid = pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
}

describe('the priority rule', () => {
  it('reads STUDIO_ENGINE_NICE, falls back to 10 on nonsense, and never lowers a worker thread outside Linux', () => {
    expect(engineNiceness({})).toBe(10)
    expect(engineNiceness({ STUDIO_ENGINE_NICE: '0' })).toBe(0)
    expect(engineNiceness({ STUDIO_ENGINE_NICE: '7' })).toBe(7)
    expect(engineNiceness({ STUDIO_ENGINE_NICE: '-5' })).toBe(10)
    expect(engineNiceness({ STUDIO_ENGINE_NICE: 'high' })).toBe(10)
    expect(lowerEnginePriority(10, 'darwin', false)).toMatchObject({ niceness: null, note: expect.stringMatching(/lowering the host/) })
    expect(lowerEnginePriority(10, 'win32', false).niceness).toBeNull()
    expect(lowerEnginePriority(0, 'linux', true)).toMatchObject({ niceness: null })
  })
})

describe.skipIf(!built || !linux)('the engine runs below the host', () => {
  let packDir: string
  const clients: EngineClient[] = []
  const client = (o: ConstructorParameters<typeof EngineClient>[0] = {}) => {
    const c = new EngineClient({ workerPath: WORKER, providers: ['cpu'], intraOpThreads: 1, ...o })
    clients.push(c)
    return c
  }

  beforeAll(() => {
    packDir = join(mkdtempSync(join(tmpdir(), 'engine-nice-')), 'pack')
    writeFakePack(packDir)
  })
  afterAll(async () => {
    for (const c of clients) await c.dispose()
  })

  it('as a child process: the host’s nice + 10 by default, + 3 when asked, the host unchanged', async () => {
    const host = getPriority(0)
    const byDefault = client()
    await byDefault.call('open', { packDir, warm: true })
    expect(niceOf(byDefault.health().pid!)).toBe(Math.min(19, host + 10))
    const asked = client({ niceness: 3 })
    await asked.call('open', { packDir, warm: true })
    expect(niceOf(asked.health().pid!)).toBe(Math.min(19, host + 3))
    expect(getPriority(0)).toBe(host)
  })

  it('as a worker thread: the engine’s threads are lowered, the host’s main thread is not', async () => {
    const host = niceOf(process.pid)
    const before = new Set(readdirSync(`/proc/${process.pid}/task`))
    const c = client({ transport: 'thread', niceness: 4 })
    await c.call('open', { packDir, warm: true })
    const fresh = readdirSync(`/proc/${process.pid}/task`).filter((t) => !before.has(t))
    const lowered = fresh.filter((t) => niceOf(process.pid, Number(t)) === Math.min(19, host + 4))
    expect(lowered.length).toBeGreaterThanOrEqual(1)
    expect(niceOf(process.pid)).toBe(host)
  })
})
