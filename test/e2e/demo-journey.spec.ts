// E2E (serve mode, demo library): the new user's journey of issue 5 in one run — batch-caption all samples
// with a visible ETA (candidates wait for review), review worst first with the heatmap and candidates,
// accept / edit / reject with the keyboard, refit the realignment, open the gap view and move the slider,
// and export.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../fixtures/images'
import { DEMO_SAMPLES, expect, openStudio, screenshotPath, startDemoServe, test } from './fixtures'

test('demo library: batch, review worst first, keyboard, refit, gap view, export', async ({ page }) => {
  test.skip(!existsSync(DEMO_SAMPLES), 'demo pack samples not present')
  test.setTimeout(300_000)
  const serve = await startDemoServe('journey')
  await openStudio(page, serve)
  await expect(page.getByTestId('count-total')).toHaveText('48 images')

  // 1. Batch-caption everything; candidates wait for review (no auto-accept). The status-bar counts (a scan
  // of the whole library) are refreshed for bursts of changes, not once per captioned image.
  let countsCalls = 0
  page.on('request', (r) => {
    if (r.url().includes('/api/library.counts')) countsCalls++
  })
  await page.getByTestId('open-batch').click()
  await page.getByTestId('batch-start').click()
  await expect(page.getByTestId('job-eta')).toBeVisible()
  await page.screenshot({ path: screenshotPath('40-journey-batch') })
  await expect(page.locator('[data-testid^="job-"][data-state="done"]')).toBeVisible({ timeout: 240_000 })
  await expect(page.getByTestId('job-count')).toHaveText('48 / 48')
  await expect(page.getByTestId('count-accepted')).toHaveText('0 accepted')
  await expect(page.getByTestId('count-uncaptioned')).toHaveText('48 uncaptioned')
  expect(countsCalls).toBeGreaterThan(0)
  expect(countsCalls).toBeLessThan(24)

  // 2. Review worst first: the review panel sorts by score, lowest first.
  await page.getByTestId('toggle-review').click()
  await page.getByTestId('review-sort').selectOption('score-asc')
  await expect(page.getByTestId('cell-score').first()).toBeVisible()
  const scores = await page.getByTestId('cell-score').allTextContents()
  const nums = scores.slice(0, 6).map(Number)
  expect(nums).toEqual([...nums].sort((a, b) => a - b))
  await page.screenshot({ path: screenshotPath('41-journey-worst-first') })

  // 3. Open the worst one: candidates and the heatmap; keyboard reject, edit, accept.
  await page.getByTestId('cell').first().click()
  // The picture and its name stay shown even when the library refreshes around the open image.
  await expect(page.locator('h2.file')).toHaveText(/\.png$/)
  const cands = page.getByTestId('candidate')
  await expect(cands.first()).toBeVisible()
  await expect(page.getByTestId('heatmap')).toBeVisible({ timeout: 30_000 })
  await page.screenshot({ path: screenshotPath('42-journey-review-image') })
  // Stored candidates exist, so the candidate list has the focus (not the text field).
  const n = await cands.count()
  if (n > 1) {
    await page.keyboard.press('r')
    await expect(cands).toHaveCount(n - 1)
  }
  await page.keyboard.press('e')
  await page.keyboard.press('End')
  await page.keyboard.type(' today')
  const first = await page.locator('h2.file').textContent()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('count-accepted')).toHaveText('1 accepted')
  // The next image opens with its stored candidates and the list takes the focus.
  await expect(page.locator('h2.file')).not.toHaveText(first!)
  await expect(page.getByTestId('image-view')).toHaveAttribute('data-loaded-id', /\d+/)
  await expect(page.locator('.listwrap')).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('count-accepted')).toHaveText('2 accepted')
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('grid')).toBeVisible()

  // Accept the rest in bulk so the refit and the gap view have pairs to work with.
  await page.getByTestId('grid').focus()
  await page.keyboard.press('Control+a')
  await page.getByTestId('bulk-accept').click()
  await expect(page.getByTestId('count-accepted')).toHaveText('48 accepted', { timeout: 30_000 })

  // 4. Gap view, slider, refit.
  await page.getByTestId('open-gap').click()
  await expect(page.getByTestId('gap-stats')).toBeVisible({ timeout: 90_000 })
  await page.getByTestId('gap-slider').fill('0.5')
  await expect(page.getByText('0.5 × gap')).toBeVisible()
  await page.getByTestId('refit-run').click()
  await expect(page.getByTestId('refit-report')).toContainText('held out', { timeout: 60_000 })
  await page.screenshot({ path: screenshotPath('43-journey-gap-refit') })
  await page.getByTestId('open-gap').click()

  // 5. Export metadata.jsonl.
  const out = tempDir('journey-export')
  await page.getByTestId('open-export').click()
  await page.getByTestId('export-dir').fill(out)
  await page.getByTestId('export-run').click()
  await expect(page.getByTestId('export-result')).toContainText('Wrote 48')
  const lines = readFileSync(join(out, 'metadata.jsonl'), 'utf8').trim().split('\n')
  expect(lines).toHaveLength(48)
  expect(lines.some((l) => (JSON.parse(l) as { text: string }).text.endsWith(' today'))).toBe(true)
  await serve.stop()
})
