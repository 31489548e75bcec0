// E2E in Electron (Playwright _electron). Runs where the Electron binary exists; elsewhere it is skipped
// and prints why. It checks the hardened window: the preload bridge exists, Node is not reachable; and that
// the engine runs in an Electron utility process of its own (engine.status through the preload).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'
import { tempDir } from '../fixtures/images'

/** The Electron executable if it is on disk; never triggers the package's lazy download. */
function electronBinary(): string | null {
  try {
    const dir = dirname(require.resolve('electron/package.json'))
    const bin = join(dir, 'dist', readFileSync(join(dir, 'path.txt'), 'utf8'))
    return existsSync(bin) ? bin : null
  } catch {
    return null
  }
}

test('Electron window is isolated and talks through the preload only', async () => {
  const bin = electronBinary()
  if (!bin || (process.platform === 'linux' && !process.env.DISPLAY)) {
    const why = !bin ? 'Electron binary not available' : 'no display (DISPLAY unset)'
    console.log(`skipped: ${why}`)
    test.skip(true, why)
    return
  }
  const app = await electron.launch({ executablePath: bin, args: [join(__dirname, '..', '..', 'out', 'main', 'index.js')], env: { ...process.env, STUDIO_DATA_DIR: tempDir('electron') } })
  const win = await app.firstWindow()
  await win.waitForSelector('body[data-ready="true"]')
  expect(await win.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined')
  expect(await win.evaluate(() => typeof (globalThis as { studio?: Record<string, unknown> }).studio?.['library.listRoots'])).toBe('function')
  expect(await win.evaluate(() => location.protocol)).toBe('studio:')
  // [Note: crash isolation] the engine runs in a utility process, not in the main process
  const status = (await win.evaluate(() => (globalThis as unknown as { studio: Record<string, (i: unknown) => Promise<unknown>> }).studio['engine.status']!({}))) as {
    active: { packId: string } | null
    supervisor?: { isolation: string; pid: number | null; crashes: number }
  }
  expect(status.active?.packId).toBe('shapes-demo')
  expect(status.supervisor).toMatchObject({ isolation: 'utility', crashes: 0 })
  const mainPid = await app.evaluate(() => process.pid)
  expect(status.supervisor?.pid).toBeGreaterThan(0)
  expect(status.supervisor?.pid).not.toBe(mainPid)
  await app.close()
})
