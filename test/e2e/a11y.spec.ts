// E2E accessibility pass (serve mode, Chromium): axe-core (WCAG 2 A/AA rules: labels, names, contrast,
// roles) on every screen in light and dark themes, and the keyboard focus order of the toolbar.
import { existsSync } from 'node:fs'
import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { DEMO_SAMPLES, expect, openStudio, startDemoServe, test } from './fixtures'

async function audit(page: Page, where: string): Promise<void> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze()
  const serious = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  for (const v of r.violations) console.log(`[a11y ${where}] ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes) ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(' | ')}`)
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), where).toEqual([])
}

test('every screen passes axe (serious/critical) in light and dark themes', async ({ page }) => {
  test.skip(!existsSync(DEMO_SAMPLES), 'demo pack samples not present')
  test.setTimeout(180_000)
  const serve = await startDemoServe('a11y')
  await openStudio(page, serve)
  await expect(page.getByTestId('cell').first()).toBeVisible()
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate((t) => {
      localStorage.setItem('theme', t)
    }, theme)
    await page.reload()
    await page.waitForSelector('body[data-ready="true"]')
    await expect(page.getByTestId('cell').first()).toBeVisible()
    await audit(page, `grid ${theme}`)

    await page.getByTestId('cell').first().click()
    await expect(page.getByTestId('candidate').first()).toBeVisible({ timeout: 60_000 })
    await audit(page, `image view ${theme}`)
    await page.getByRole('button', { name: 'Back to grid (Esc)' }).click()

    for (const [open, dialog] of [
      ['open-export', 'export-dialog'],
      ['open-batch', 'batch-dialog'],
      ['model-status', 'models-dialog']
    ] as const) {
      await page.getByTestId(open).click()
      await expect(page.getByTestId(dialog)).toBeVisible()
      await audit(page, `${dialog} ${theme}`)
      await page.keyboard.press('Escape')
      await expect(page.getByTestId(dialog)).toBeHidden()
    }
    await page.getByTestId('toggle-review').click()
    await audit(page, `review panel ${theme}`)
    await page.getByTestId('toggle-review').click()
  }
  await serve.stop()
})

test('toolbar focus order follows the visual order', async ({ page, serve }) => {
  await openStudio(page, serve)
  const order: string[] = []
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab')
    order.push(
      await page.evaluate(() => {
        const el = document.activeElement as HTMLInputElement | null
        return el?.getAttribute('aria-label') ?? el?.labels?.[0]?.textContent?.trim() ?? el?.textContent?.trim() ?? ''
      })
    )
  }
  expect(order).toEqual(['Folder to add', 'Add folder', 'All', 'Uncaptioned', 'Accepted', 'Errors'])
})
