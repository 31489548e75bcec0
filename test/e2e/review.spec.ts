// E2E (serve mode in Chromium): review at scale. Captions are written through the HTTP API with the bearer
// token; the review panel's term list filters the grid, find & replace previews every change (refusing an
// empty result) and applies it with history kept, multi-select + keyword + tag filter, and an accessibility
// pass over the panel (names of controls, keyboard reachability, text contrast in light and dark themes).
import type { Page } from '@playwright/test'
import { makeImageFolder } from '../fixtures/images'
import { addScannedFolder, apiOf, expect, openStudio, screenshotPath, test, type ServeProcess } from './fixtures'

const CAPTIONS: Record<string, string> = {
  'a/red.jpg': 'a red square on a gray background',
  'a/green.png': 'a green square on a gray background',
  'b/red.jpg': 'a blue square on gray',
  'b/photo.tiff': 'an orange square near a red circle',
  'alpha.png': 'square'
}

async function captionLibrary(page: Page, serve: ServeProcess): Promise<Record<string, number>> {
  const api = apiOf(page.request, serve)
  const id = await addScannedFolder(api, (await makeImageFolder()).root)
  for (const [path, text] of Object.entries(CAPTIONS)) await api('captions.accept', { imageId: id[path], text })
  return id
}

test('term list filters the grid; find & replace previews every change and applies with history', async ({ page, serve }) => {
  const api = apiOf(page.request, serve)
  const id = await captionLibrary(page, serve)
  await openStudio(page, serve)
  await expect(page.getByTestId('count-accepted')).toHaveText('5 accepted')

  await page.getByTestId('toggle-review').click()
  const panel = page.getByTestId('review-panel')
  await expect(panel).toBeVisible()
  const square = panel.locator('[data-testid=term][data-term=square]')
  await expect(square).toContainText('5')
  // Stop words are hidden by default.
  await expect(panel.locator('[data-testid=term][data-term=a]')).toHaveCount(0)
  await page.screenshot({ path: screenshotPath('review-01-terms') })

  // Click a term: the grid shows exactly the images whose caption has it.
  await panel.locator('[data-testid=term][data-term=red]').click()
  await expect(page.getByTestId('cell')).toHaveCount(2)
  await expect(page.getByTestId('review-count')).toHaveText('2 images')
  await expect(panel.locator('[data-testid=term][data-term=red]')).toHaveAttribute('aria-pressed', 'true')
  await expect(page.getByTestId('grid')).toContainText('a red square on a gray background')
  await expect(page.getByTestId('grid')).toContainText('an orange square near a red circle')
  await page.screenshot({ path: screenshotPath('review-02-term-filter') })
  await panel.getByRole('button', { name: 'Remove filter “red”' }).click()
  await expect(page.getByTestId('cell')).toHaveCount(10)

  // Literal replace with nothing: the caption that would become empty is refused and listed.
  await panel.getByLabel('Find', { exact: true }).fill('square')
  await panel.getByTestId('fr-preview').click()
  await expect(panel.getByTestId('fr-refused')).toHaveCount(1)
  await expect(panel.getByTestId('fr-refused')).toContainText('alpha.png')
  await expect(panel.getByTestId('fr-refused')).toContainText('would be empty')
  await expect(panel.getByTestId('fr-change')).toHaveCount(4)

  // Regex with a group: every change is listed with the match marked before and the insertion after.
  await panel.getByTestId('fr-regex').check()
  await panel.getByLabel('Find', { exact: true }).fill('(\\w+) square')
  await panel.getByLabel('Replace with').fill('$1 tile')
  await expect(panel.getByTestId('fr-change')).toHaveCount(0)
  await panel.getByTestId('fr-preview').click()
  const changes = panel.getByTestId('fr-change')
  await expect(changes).toHaveCount(4)
  const first = changes.filter({ hasText: 'a/red.jpg' })
  await expect(first.locator('mark.del')).toHaveText('red square')
  await expect(first.locator('mark.ins')).toHaveText('red tile')
  await expect(first).toContainText('a red tile on a gray background')
  await expect(panel.getByTestId('fr-refused')).toHaveCount(0)
  await page.screenshot({ path: screenshotPath('review-03-replace-preview') })

  // An invalid regex is a clear error, not a silent no-op.
  await panel.getByLabel('Find', { exact: true }).fill('(\\w+ square')
  await panel.getByTestId('fr-preview').click()
  await expect(page.getByTestId('toast')).toContainText('invalid regular expression')
  await panel.getByLabel('Find', { exact: true }).fill('(\\w+) square')
  await panel.getByTestId('fr-preview').click()
  await expect(changes).toHaveCount(4)

  await panel.getByTestId('fr-apply').click()
  await expect(page.getByTestId('toast')).toContainText('Replaced in 4 captions')
  await expect(panel.getByTestId('fr-preview-list')).toHaveCount(0)
  await expect(panel.locator('[data-testid=term][data-term=tile]')).toContainText('4')
  await expect(panel.locator('[data-testid=term][data-term=square]')).toContainText('1')
  const hist = await api<{ accepted: { text: string; source: { method?: string } }; history: { status: string; text: string }[] }>('captions.forImage', { imageId: id['a/red.jpg'] })
  expect(hist.accepted.text).toBe('a red tile on a gray background')
  expect(hist.accepted.source.method).toBe('replace')
  expect(hist.history.map((h) => [h.status, h.text])).toEqual([
    ['superseded', 'a red square on a gray background'],
    ['accepted', 'a red tile on a gray background']
  ])
  expect((await api<{ accepted: { text: string } }>('captions.forImage', { imageId: id['alpha.png'] })).accepted.text).toBe('square')

  await panel.locator('[data-testid=term][data-term=tile]').click()
  await expect(page.getByTestId('cell')).toHaveCount(4)
  await expect(page.getByTestId('grid')).toContainText('a red tile on a gray background')
  await expect.poll(async () => page.locator('[data-testid=cell] img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length)).toBe(4)
  await page.screenshot({ path: screenshotPath('review-04-after-apply') })

  // The whole replace can be taken back in one step; the old texts come back as new rows.
  await expect(panel.getByTestId('review-undo')).toBeInViewport()
  await panel.getByTestId('review-undo').click()
  await expect(page.getByTestId('toast')).toContainText('Undid the replace in 4 captions: 4 restored')
  await expect(page.getByTestId('cell')).toHaveCount(0)
  await expect(panel.getByTestId('review-undo')).toHaveCount(0)
  const undone = await api<{ accepted: { text: string }; history: unknown[] }>('captions.forImage', { imageId: id['a/red.jpg'] })
  expect(undone.accepted.text).toBe(CAPTIONS['a/red.jpg'])
  expect(undone.history).toHaveLength(3)
})

test('multi-select with mouse and keyboard, keyword, tag filter, bulk reject; accessible in both themes', async ({ page, serve }) => {
  const api = apiOf(page.request, serve)
  const id = await captionLibrary(page, serve)
  await openStudio(page, serve)
  await page.getByTestId('filter-accepted').click()
  await expect(page.getByTestId('cell')).toHaveCount(5)
  await page.getByTestId('toggle-review').click()
  const panel = page.getByTestId('review-panel')

  // Ctrl+click two cells, Shift+click extends from the last one; plain click would open the image.
  const cells = page.getByTestId('cell')
  await cells.nth(0).click({ modifiers: ['Control'] })
  await cells.nth(1).click({ modifiers: ['Control'] })
  await expect(panel.getByTestId('selection-count')).toHaveText('2 selected')
  await cells.nth(3).click({ modifiers: ['Shift'] })
  await expect(panel.getByTestId('selection-count')).toHaveText('4 selected')
  await expect(page.locator('[data-testid=cell][aria-selected=true]')).toHaveCount(4)
  // Keyboard: Esc clears, Space toggles the cursor's image, Ctrl+A selects the view.
  await page.getByTestId('grid').focus()
  await page.keyboard.press('Escape')
  await expect(panel.getByTestId('selection-count')).toHaveText('0 selected')
  await page.keyboard.press('Space')
  await expect(panel.getByTestId('selection-count')).toHaveText('1 selected')
  await page.keyboard.press('Shift+ArrowRight')
  await expect(panel.getByTestId('selection-count')).toHaveText('2 selected')
  await page.keyboard.press('Control+a')
  await expect(panel.getByTestId('selection-count')).toHaveText('5 selected')
  await page.keyboard.press('Escape')
  await cells.filter({ hasText: 'a blue square on gray' }).click({ modifiers: ['Control'] })
  await cells.filter({ hasText: 'a green square' }).click({ modifiers: ['Control'] })

  await panel.getByLabel('Keyword to add to the selected images').fill('Favourite')
  await panel.getByRole('button', { name: 'Add', exact: true }).click()
  await expect(page.getByTestId('toast')).toContainText('added to 2 images')
  await panel.getByLabel('Tag or concept').selectOption({ label: 'Favourite (keyword, 2)' })
  await expect(cells).toHaveCount(2)
  await expect(panel.getByTestId('active-filters')).toContainText('tag: Favourite')
  await page.screenshot({ path: screenshotPath('review-05-selection-tag-filter') })

  await accessibilityPass(page)
  await page.getByRole('button', { name: /dark theme/ }).click()
  await panel.getByLabel('Find', { exact: true }).fill('square')
  await panel.getByLabel('Replace with').fill('box')
  await panel.getByTestId('fr-preview').click()
  await expect(panel.getByTestId('fr-change')).toHaveCount(5)
  await page.screenshot({ path: screenshotPath('review-06-dark') })
  await accessibilityPass(page)

  // Bulk reject the accepted captions of the two selected images: they leave the accepted view.
  await panel.getByRole('button', { name: 'Reject accepted' }).click()
  await expect(page.getByTestId('toast')).toContainText('Rejected 2 accepted captions on 2 images')
  await expect(page.getByTestId('count-accepted')).toHaveText('3 accepted')
  await expect(panel.getByTestId('selection-count')).toHaveText('0 selected')
  const green = await api<{ accepted: unknown; history: { status: string }[] }>('captions.forImage', { imageId: id['a/green.png'] })
  expect(green.accepted).toBeNull()
  expect(green.history.map((h) => h.status)).toEqual(['rejected'])
})

/** Every control of the panel has an accessible name, Tab reaches the panel's controls in document order, and
 *  text in the panel (including marked matches and muted text) meets 4.5:1 against what is behind it. */
async function accessibilityPass(page: Page): Promise<void> {
  const unnamed = await page.locator('#review-panel').evaluate((panel) =>
    [...panel.querySelectorAll('input, select, button, textarea')]
      .filter((el) => {
        const c = el as HTMLInputElement
        return !(c.labels?.length || c.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent?.trim()))
      })
      .map((el) => el.outerHTML.slice(0, 120))
  )
  expect(unnamed).toEqual([])

  // Tab from the toolbar's toggle moves into the panel (after the grid), never skipping to the status bar.
  await page.getByTestId('toggle-review').focus()
  const order: string[] = []
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab')
    order.push(await page.evaluate(() => (document.activeElement?.closest('#review-panel') ? 'panel' : document.activeElement?.closest('[data-testid=grid]') ? 'grid' : 'other')))
  }
  const firstPanel = order.indexOf('panel')
  expect(firstPanel).toBeGreaterThan(-1)
  expect(order.slice(firstPanel).every((o) => o === 'panel')).toBe(true)

  const failures = await page.locator('#review-panel').evaluate((panel) => {
    const parse = (c: string): [number, number, number, number] => {
      const m = /rgba?\(([^)]+)\)/.exec(c) ?? /color\(srgb ([^)]+)\)/.exec(c)
      if (!m) return [0, 0, 0, 0]
      const parts = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number)
      const scale = c.startsWith('color(') ? 255 : 1
      return [parts[0]! * scale, parts[1]! * scale, parts[2]! * scale, parts[3] ?? 1]
    }
    const over = (top: number[], under: number[]) => top.slice(0, 3).map((v, i) => v * top[3]! + under[i]! * (1 - top[3]!))
    const background = (el: Element | null): number[] => {
      const layers: number[][] = []
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor)
        if (c[3] > 0) layers.push(c)
        if (c[3] >= 1) break
      }
      return layers.reverse().reduce((acc, l) => over(l, acc), [255, 255, 255])
    }
    const lum = (rgb: number[]) => {
      const [r, g, b] = rgb.map((v) => {
        const s = v / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      })
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
    }
    const out: string[] = []
    const walker = document.createTreeWalker(panel, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement!
      if (!n.textContent?.trim() || el.closest('.sr-only, [aria-hidden=true], :disabled, option')) continue
      const style = getComputedStyle(el)
      if (style.visibility === 'hidden' || style.display === 'none') continue
      const bg = background(el)
      const fg = over(parse(style.color), bg)
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x)
      const ratio = (a! + 0.05) / (b! + 0.05)
      if (ratio < 4.5) out.push(`${ratio.toFixed(2)} "${n.textContent.trim().slice(0, 30)}" (${el.tagName.toLowerCase()}.${el.className})`)
    }
    return out
  })
  expect(failures).toEqual([])
}
