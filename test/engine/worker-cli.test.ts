// The BUILT engine worker (out/main/engine-worker.js) and CLI (out/main/cli.js), spawned for real on the fake
// pack. Build first (`npx electron-vite build`); without out/ these tests are skipped with a message.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineClient } from '../../src/main/engine/client/engine-client'
import { StudioError } from '../../src/shared/errors'
import { writeFakePack } from './helpers/fake-pack'
import { notAnImage, solid } from './helpers/images'

const run = promisify(execFile)
const OUT = resolve(__dirname, '../../out/main')
const built = existsSync(join(OUT, 'engine-worker.js')) && existsSync(join(OUT, 'cli.js'))
if (!built) console.warn('worker-cli.test.ts: out/main is missing — run `npx electron-vite build` first; skipping')

let dir: string
let packDir: string
let client: EngineClient

describe.skipIf(!built)('built engine worker and CLI', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'engine-worker-'))
    packDir = join(dir, 'pack')
    writeFakePack(packDir)
    await solid(join(dir, 'red.png'), [220, 30, 30])
    const imgs = join(dir, 'imgs')
    mkdirSync(join(imgs, 'sub'), { recursive: true })
    await solid(join(imgs, 'a red.png'), [220, 30, 30])
    await solid(join(imgs, 'sub', 'b#blue.png'), [30, 40, 220])
    notAnImage(join(imgs, 'broken.png'))
    writeFileSync(join(imgs, 'notes.txt'), 'skip me')
    client = new EngineClient({ workerPath: join(OUT, 'engine-worker.js'), providers: ['cuda', 'cpu'], intraOpThreads: 1 })
  })

  afterAll(async () => {
    await client?.dispose()
  })

  it('opens a pack and reports the CPU fallback', async () => {
    const st = await client.call('open', { packDir, warm: true })
    expect(st.packId).toBe('fake')
    expect(st.provider).toBe('cpu')
    expect(st.providerAttempts[0]?.provider).toBe('cuda')
  })

  it('captions with progress events and returns typed results', async () => {
    const progress: number[] = []
    const out = await client.call('caption', { packDir, inputs: [{ file: join(dir, 'red.png') }, { file: join(dir, 'nope.png') }], options: { seed: 1 } }, { onProgress: (p) => progress.push(p.done) })
    expect(progress).toEqual([1, 2])
    expect('caption' in out[0]! && out[0].caption).toBe('a red square')
    expect('error' in out[1]! && out[1].error.code).toBe('not_found')
    const embs = await client.call('embedTexts', { packDir, texts: ['a red square'] })
    expect(embs[0]).toBeInstanceOf(Float32Array)
  })

  it('turns worker errors into StudioErrors and cancels', async () => {
    await expect(client.call('caption', { packDir: join(dir, 'no-pack'), inputs: [] })).rejects.toMatchObject({ code: 'not_found' })
    const ctl = new AbortController()
    const files = Array.from({ length: 40 }, () => ({ file: join(dir, 'red.png') }))
    const p = client.call('caption', { packDir, inputs: files, options: { noiseSamples: 16, regions: 'crops' } }, { signal: ctl.signal, onProgress: (pr) => pr.done >= 2 && ctl.abort() })
    const err = await p.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StudioError)
    expect((err as StudioError).code).toBe('cancelled')
    // The worker is still usable afterwards.
    const again = await client.call('caption', { packDir, inputs: [{ file: join(dir, 'red.png') }] })
    expect('caption' in again[0]!).toBe(true)
  })

  it('fails the running call when the engine process dies and starts a fresh one for the next call', async () => {
    const fit = await client.call('fitRealignment', { packDir, method: 'ridge', pairs: [{ file: join(dir, 'red.png'), caption: 'a red square' }, { file: join(dir, 'imgs', 'a red.png'), caption: 'a red circle' }], activate: false })
    await client.call('setRealignment', { packDir, method: 'ridge', realignment: { method: fit.method, dim: fit.dim, matrix: fit.matrix, pairs: fit.pairs, lambda: fit.lambda, fitMs: fit.fitMs } })
    expect((await client.call('status', { packDir })).realignment.ridge).toBe('custom')
    const p = client.call('caption', { packDir, inputs: Array.from({ length: 20 }, () => ({ file: join(dir, 'red.png') })), options: { regions: 'crops' } })
    const pid = client.health().pid
    expect(pid).toBeGreaterThan(0)
    expect(pid).not.toBe(process.pid)
    process.kill(pid!, 'SIGKILL')
    await expect(p).rejects.toThrow(/caption engine crashed while running "caption" \(signal SIGKILL\)/)
    expect(client.health()).toMatchObject({ isolation: 'process', crashes: 1 })
    const st = await client.call('open', { packDir })
    expect(st.packId).toBe('fake')
    // The host's realignment was replayed into the new worker.
    expect(st.realignment.ridge).toBe('custom')
  })

  it('CLI caption walks folders, skips non-images, reports bad files and goes on', async () => {
    const res = await run('node', [join(OUT, 'cli.js'), 'caption', join(dir, 'imgs'), '--pack', packDir, '--json', '--seed', '5'], { cwd: dir }).catch((e: { stdout: string; stderr: string; code: number }) => e)
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => String(l.file).slice(join(dir, 'imgs').length + 1))).toEqual(['a red.png', 'broken.png', 'sub/b#blue.png'])
    expect(lines[0]).toMatchObject({ caption: 'a red square' })
    expect(lines[1]!.error).toMatch(/not an image/)
    expect(lines[2]).toMatchObject({ caption: 'a blue square' })
    const c = (lines[0]!.candidates as { text: string; source: string; clipS: number; aclipS: number }[])[0]!
    expect(c.clipS).toBeGreaterThan(0)
    expect(typeof c.aclipS).toBe('number')
    expect(Object.keys(lines[0]!.timings as object)).toContain('decode')
    expect('code' in res && res.code).toBe(3)
  })
})
