// E2E (serve mode, demo pack): ranked candidates with scores and a heatmap, keyboard review (select,
// reject, edit, accept), per-candidate region similarity on hover, concepts, VQA, the model manager, the
// gap view with its slider, the realignment refit, and remapping a shortcut with conflict detection;
// moving on mid-suggestion still suggests for the next image.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEMO_SAMPLES as SAMPLES, expect, openStudio, screenshotPath, startScannedDemo, test } from './fixtures'


test.describe('captioning with the demo pack', () => {
  test.skip(!existsSync(SAMPLES), 'demo pack samples not present')
  test.setTimeout(180_000)

  test('candidates, heatmap, keyboard review, concepts, VQA, models', async ({ page }) => {
    const { serve } = await startScannedDemo(page.request)
    await openStudio(page, serve)

    await page.keyboard.press('Control+j')
    const cands = page.getByTestId('candidate')
    await expect(cands.first()).toBeVisible({ timeout: 60_000 })
    expect(await cands.count()).toBeGreaterThanOrEqual(2)
    await expect(cands.first()).toContainText('CLIP-S')
    await expect(page.getByTestId('heatmap')).toBeVisible()
    await page.screenshot({ path: screenshotPath('20-candidates-heatmap') })

    // Hover a candidate: the overlay switches to that caption's per-region similarity.
    await cands.nth(1).hover()
    await expect(page.getByTestId('heatmap-legend')).toContainText('region similarity to')
    await page.mouse.move(5, 5)

    // Keyboard: leave the text field, select the 2nd candidate, reject it, edit the (new) 2nd, accept.
    await page.keyboard.press('Escape')
    const before = await cands.count()
    await page.keyboard.press('ArrowDown')
    const rejected = (await cands.nth(1).locator('button.text').textContent())!.trim()
    await page.keyboard.press('r')
    await expect(cands).toHaveCount(before - 1)
    await expect(page.getByTestId('history')).toContainText(rejected)
    await page.keyboard.press('e')
    const field = page.getByTestId('caption-field')
    await expect(field).toBeFocused()
    await page.keyboard.type(' shape')
    // The edited text is scored against the image as you type.
    await expect(page.getByTestId('typed-score')).toContainText('CLIP-S')
    const file1 = await page.locator('h2.file').textContent()
    await page.keyboard.press('Enter')
    await expect(page.getByTestId('count-accepted')).toHaveText('1 accepted')
    await expect(page.locator('h2.file')).not.toHaveText(file1!)

    // Next image: accept the top candidate as-is with Enter (outside the text field).
    await expect(cands.first()).toBeVisible({ timeout: 60_000 })
    const file2 = await page.locator('h2.file').textContent()
    await page.keyboard.press('Escape')
    await page.keyboard.press('Enter')
    await expect(page.getByTestId('count-accepted')).toHaveText('2 accepted')

    // Concepts (PCM-Net salient concepts) become chips that add a word to the caption. Wait for the next
    // image's own candidates, so the chip read is the chip clicked.
    await expect(page.locator('h2.file')).not.toHaveText(file2!)
    await expect(cands.first()).toBeVisible({ timeout: 60_000 })
    const chips = page.getByTestId('concepts').locator('.chip > button:first-child')
    if ((await chips.count()) > 0) {
      const word = (await chips.first().textContent())!.trim()
      await chips.first().click()
      await expect(field).toHaveValue(new RegExp(word))
    }

    // Zero-shot VQA.
    await page.getByTestId('vqa-input').fill('what colour is the large shape?')
    await page.getByTestId('vqa-input').press('Enter')
    await expect(page.getByTestId('vqa-answers').locator('li').first()).toBeVisible()
    await page.screenshot({ path: screenshotPath('21-vqa-concepts') })

    // Model manager: the active pack and the provider in use.
    await page.keyboard.press('Escape')
    await page.keyboard.press('Escape')
    await page.getByTestId('model-status').click()
    await expect(page.getByTestId('models-dialog')).toBeVisible()
    await expect(page.getByTestId('provider')).toHaveText('CPU')
    await expect(page.getByTestId('model-status')).toContainText('CPU')
    await expect(page.getByTestId('pack-row').first()).toContainText('shapes-demo')
    await page.screenshot({ path: screenshotPath('22-models') })
    await serve.stop()
  })

  test('the heatmap legend follows a keyboard selection while the pointer rests on the clicked candidate', async ({ page }) => {
    const { serve } = await startScannedDemo(page.request)
    await openStudio(page, serve)
    await page.keyboard.press('Control+j')
    const cands = page.getByTestId('candidate')
    await expect(cands.first()).toBeVisible({ timeout: 60_000 })
    await expect.poll(() => cands.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2)
    const legend = page.getByTestId('heatmap-legend')
    const text = async (i: number) => (await cands.nth(i).locator('button.text').textContent())!.trim()
    // click the first candidate: the pointer stays on it
    await cands.first().locator('button.text').click()
    await expect(legend).toContainText(`region similarity to “${await text(0)}”`)
    const cells = page.getByTestId('heatmap').locator('rect > title')
    const values = async () => (await cells.allTextContents()).join(' ')
    const first = await values()
    // ↓ selects the second: the legend and the overlay show the second at once, not the one under the pointer
    await page.keyboard.press('ArrowDown')
    await expect(cands.nth(1)).toHaveAttribute('aria-current', 'true')
    await expect(legend).toContainText(`region similarity to “${await text(1)}”`)
    await expect.poll(values).not.toBe(first)
    await page.screenshot({ path: screenshotPath('22-legend-follows-keyboard-selection') })
    // ↑ back to the first: back to its values
    await page.keyboard.press('ArrowUp')
    await expect(legend).toContainText(`region similarity to “${await text(0)}”`)
    await expect.poll(values).toBe(first)
    await serve.stop()
  })

  test('moving on while a suggestion runs still suggests for the next image', async ({ page }) => {
    const { serve } = await startScannedDemo(page.request)
    // Hold the first suggestion's response until the test has moved on, so "mid-suggestion" does not
    // depend on how fast the demo pack answers (the studio also suggests by itself once the model is ready).
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    let first = true
    await page.route('**/api/captions.suggest', async (route) => {
      if (!first) return route.continue()
      first = false
      const response = await route.fetch()
      await held
      await route.fulfill({ response })
    })
    await openStudio(page, serve)
    // Ctrl+J opens the next uncaptioned image; once the model is ready the studio suggests for it.
    await page.keyboard.press('Control+j')
    // The first image's suggestion is under way; go to the next image before it returns.
    await expect(page.getByTestId('suggest')).toHaveText(/Thinking/, { timeout: 60_000 })
    const firstFile = await page.locator('h2.file').textContent()
    await page.keyboard.press('Alt+ArrowRight')
    await expect(page.locator('h2.file')).not.toHaveText(firstFile!)
    release()
    await expect(page.getByTestId('candidate').first()).toBeVisible({ timeout: 60_000 })
    await serve.stop()
  })

  test('gap view with the shift slider, and learning from my captions', async ({ page }) => {
    const { serve, call } = await startScannedDemo(page.request)
    const refs = JSON.parse(readFileSync(join(SAMPLES, 'refs.json'), 'utf8')) as Record<string, string[]>
    const { ids } = await call<{ ids: number[] }>('library.listIds', {})
    const images = await call<{ id: number; fileName: string }[]>('library.getImages', { ids })
    for (const img of images) {
      const ref = refs[img.fileName]?.[0]
      if (ref) await call('captions.accept', { imageId: img.id, text: ref })
    }
    await openStudio(page, serve)
    await page.getByTestId('open-gap').click()
    await expect(page.getByTestId('gap-stats')).toBeVisible({ timeout: 90_000 })
    await expect(page.getByTestId('gap-scatter').locator('svg[viewBox]')).toBeVisible()
    await expect(page.getByTestId('gap-histogram').locator('svg[viewBox]')).toBeVisible()
    const r1At0 = await page.getByTestId('gap-r1').textContent()
    await page.getByTestId('gap-slider').fill('1')
    await expect(page.getByText('1.0 × gap')).toBeVisible()
    expect(r1At0).toMatch(/%$/)
    await expect(page.getByTestId('region-chart').locator('svg[viewBox]')).toBeVisible({ timeout: 90_000 })
    await page.screenshot({ path: screenshotPath('23-gap-view'), fullPage: true })

    await page.getByTestId('refit-run').click()
    await expect(page.getByTestId('refit-report')).toContainText('held out', { timeout: 60_000 })
    await page.getByTestId('refit').scrollIntoViewIfNeeded()
    await page.screenshot({ path: screenshotPath('24-refit') })
    const status = await call<{ last: { before: number; after: number; heldOut: number } }>('analysis.refitStatus', {})
    expect(status.last.heldOut).toBeGreaterThan(0)
    await serve.stop()
  })
})

test('shortcuts can be remapped and conflicts are shown', async ({ page, serve }) => {
  await openStudio(page, serve)
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click()
  const dialog = page.getByTestId('keymap-dialog')
  await dialog.getByTestId('rebind-edit').click()
  await page.keyboard.press('ArrowUp')
  await expect(dialog.getByTestId('keymap-conflicts')).toContainText('ArrowUp')
  await expect(dialog.getByTestId('keymap-save')).toBeDisabled()
  await page.screenshot({ path: screenshotPath('25-keymap-conflict') })
  await dialog.getByTestId('rebind-edit').click()
  await page.keyboard.press('w')
  await expect(dialog.getByTestId('keymap-conflicts')).toHaveCount(0)
  await dialog.getByTestId('keymap-save').click()
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem('keymap.v1') ?? '{}') as Record<string, string[]>)
  expect(saved.edit).toEqual(['W'])
})
