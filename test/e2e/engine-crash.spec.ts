// E2E (serve mode, --test-ops): the engine process is crashed by a test fault ([Note: engine faults]) while
// the studio is open; the page stays, the status bar says the engine was restarted after a crash and how
// often, with the reason on hover, and the next caption request works. Screenshot of the status bar.
import { expect, openStudio, screenshotPath, startScannedDemo, test } from './fixtures'

test('the status bar shows an engine restart after a crash', async ({ page, request }) => {
  const { serve, call } = await startScannedDemo(request)
  try {
    await openStudio(page, serve)
    const { ids } = await call<{ ids: number[] }>('library.listIds', {})
    await call('engine.testFault', { kind: 'abort', once: true })
    await expect(call('engine.caption', { imageId: ids[0]! })).rejects.toThrow(/caption engine crashed while running "caption" \(signal SIGABRT/)
    const notice = page.getByTestId('engine-restarts')
    await expect(notice).toHaveText(/engine restarted after a crash \(1×\)/, { timeout: 15_000 })
    await expect(notice).toHaveAttribute('title', /during caption: signal SIGABRT/)
    // the restarted engine answers, and the studio never left
    const again = await call<{ candidates: unknown[] }>('engine.caption', { imageId: ids[0]! })
    expect(again.candidates.length).toBeGreaterThan(0)
    await expect(page.getByTestId('count-total')).toBeVisible()
    await page.getByTestId('status-bar').screenshot({ path: screenshotPath('engine-restarted-status-bar') })
    await page.screenshot({ path: screenshotPath('engine-restarted') })
  } finally {
    await serve.stop()
  }
})
