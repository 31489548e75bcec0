// E2E in Electron (Playwright _electron). Runs where the Electron binary exists; elsewhere it is skipped
// and prints why. It checks the hardened window: the preload bridge exists, Node is not reachable.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'
import { tempDir } from '../fixtures/images'

function electronBinary(): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const p = require('electron') as unknown as string
    return typeof p === 'string' && existsSync(p) ? p : null
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
  await app.close()
})
