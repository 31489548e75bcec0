// E2E fixtures (Node side of Playwright). Each test file gets its own serve process on a random port with
// a fresh data dir, and waits for the app's readiness marker instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { test as base, expect, type APIRequestContext, type Page } from '@playwright/test'
import { tempDir } from '../fixtures/images'

export interface ServeProcess {
  url: string
  openUrl: string
  token: string
  dataDir: string
  proc: ChildProcess
  stop(signal?: NodeJS.Signals): Promise<void>
}

// Servers a test started itself are killed when the worker exits, even if the test failed before stop().
const started = new Set<ChildProcess>()
process.on('exit', () => {
  for (const p of started) if (p.exitCode === null) p.kill('SIGKILL')
})

export async function startServe(dataDir = tempDir('e2e-data'), extra: string[] = []): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [join(__dirname, '..', '..', 'out', 'main', 'serve.js'), '--port', '0', '--data-dir', dataDir, '--test-ops', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  started.add(proc)
  proc.on('exit', () => started.delete(proc))
  let out = ''
  const openUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000)
    const onData = (b: Buffer) => {
      out += b.toString()
      const m = /Open: (\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()))
    proc.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)))
  })
  const u = new URL(openUrl)
  return {
    url: u.origin,
    openUrl,
    token: u.searchParams.get('token')!,
    dataDir,
    proc,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve()
        proc.once('exit', () => resolve())
        proc.kill(signal)
      })
  }
}

export const DEMO_SAMPLES = join(__dirname, '..', '..', 'models', 'shapes-demo', 'samples')

/** A serve process whose library is a fresh copy of the demo pack's sample images. */
export async function startDemoServe(prefix = 'demo'): Promise<ServeProcess> {
  const photos = tempDir(`${prefix}-photos`)
  cpSync(DEMO_SAMPLES, photos, { recursive: true })
  return startServe(tempDir(`${prefix}-data`), ['--add', photos])
}

/** Calls contract operations over HTTP with the server's token; throws with the server's message. */
export function apiOf(request: APIRequestContext, serve: ServeProcess) {
  return async <T>(op: string, input: unknown): Promise<T> => {
    const r = await request.post(`${serve.url}/api/${op}`, { headers: { authorization: `Bearer ${serve.token}` }, data: input })
    const body = (await r.json()) as { ok: boolean; result: T; error?: { message: string } }
    if (!body.ok) throw new Error(`${op}: ${body.error?.message}`)
    return body.result
  }
}

/** Adds `root` as a library folder through the API, waits for the scan, and returns image ids by relative path. */
export async function addScannedFolder(api: ReturnType<typeof apiOf>, root: string): Promise<Record<string, number>> {
  await api('library.addRoot', { path: root })
  await api('library.waitForScans', {})
  const { ids } = await api<{ ids: number[] }>('library.listIds', {})
  const rows = await api<{ id: number; relPath: string }[]>('library.getImages', { ids })
  return Object.fromEntries(rows.map((r) => [r.relPath, r.id]))
}

/** The demo library served, scanned, and its API caller: the start of most demo-pack tests. */
export async function startScannedDemo(request: APIRequestContext): Promise<{ serve: ServeProcess; call: ReturnType<typeof apiOf> }> {
  const serve = await startDemoServe()
  const call = apiOf(request, serve)
  await call('library.waitForScans', {})
  return { serve, call }
}

export async function openStudio(page: Page, serve: ServeProcess): Promise<void> {
  await page.goto(serve.openUrl)
  await page.waitForSelector('body[data-ready="true"]')
}

export function screenshotPath(name: string): string {
  const dir = join(__dirname, '..', '..', 'test-results', 'screenshots')
  mkdirSync(dir, { recursive: true })
  return join(dir, `${name}.png`)
}

export const test = base.extend<{ serve: ServeProcess }>({
  // eslint-disable-next-line no-empty-pattern
  serve: async ({}, use) => {
    const s = await startServe()
    await use(s)
    await s.stop()
  }
})

export { expect }
