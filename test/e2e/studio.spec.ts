// E2E (serve mode in Chromium): add a folder, see thumbnails, caption two images with the keyboard only,
// reload and find the captions, undo, export metadata.jsonl and check its content.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeImageFolder, tempDir } from '../fixtures/images'
import { expect, openStudio, screenshotPath, test } from './fixtures'

test('add a folder, caption with the keyboard, reload, export', async ({ page, serve }) => {
  const folder = await makeImageFolder()
  await openStudio(page, serve)
  await page.screenshot({ path: screenshotPath('01-empty-library') })

  await page.getByTestId('folder-input').fill(folder.root)
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('count-total')).toHaveText('10 images')
  const cells = page.getByTestId('cell')
  await expect(cells).toHaveCount(10)
  // Thumbnails really load (decoded pixels, not broken images).
  await expect.poll(async () => page.locator('[data-testid=cell] img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length)).toBe(8)
  await expect(page.getByTestId('count-uncaptioned')).toHaveText('8 uncaptioned')
  await page.screenshot({ path: screenshotPath('02-grid') })

  // Keyboard only: Ctrl+J opens the next uncaptioned image with the caption field focused.
  await page.keyboard.press('Control+j')
  const field = page.getByTestId('caption-field')
  const view = page.getByTestId('image-view')
  await expect(view).toHaveAttribute('data-loaded-id', /\d+/)
  await expect(field).toBeFocused()
  const first = await page.locator('h2.file').textContent()
  await page.keyboard.type('a red square on gray')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('count-accepted')).toHaveText('1 accepted')
  // Enter saved and opened the next image; Ctrl+J then jumps to the next uncaptioned one.
  await expect(page.locator('h2.file')).not.toHaveText(first!)
  await expect(view).toHaveAttribute('data-loaded-id', /\d+/)
  const afterEnter = await page.locator('h2.file').textContent()
  await page.keyboard.press('Control+j')
  await expect(page.locator('h2.file')).not.toHaveText(afterEnter!)
  await expect(view).toHaveAttribute('data-loaded-id', /\d+/)
  await expect(field).toHaveValue('')
  const second = await page.locator('h2.file').textContent()
  expect(second).not.toBe(first)
  await page.keyboard.type('a green square')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('count-accepted')).toHaveText('2 accepted')
  // Alt+← inside the text field goes back to the previous image.
  await page.keyboard.press('Alt+ArrowLeft')
  await expect(page.locator('h2.file')).toHaveText(second!)
  await expect(field).toHaveValue('a green square')
  await page.screenshot({ path: screenshotPath('03-image-view') })

  // Ctrl+Z (no unsaved typing) undoes the last caption change.
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('count-accepted')).toHaveText('1 accepted')
  await expect(field).toHaveValue('')
  // …and puts the focus in the field, ready for retyping (even when the candidate list had it).
  await expect(field).toBeFocused()
  await page.keyboard.type('a green square')
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('count-accepted')).toHaveText('2 accepted')

  // Reload: captions persisted in SQLite.
  await page.reload()
  await page.waitForSelector('body[data-ready="true"]')
  await page.getByTestId('filter-accepted').click()
  await expect(cells).toHaveCount(2)
  await expect(page.getByText('a red square on gray')).toBeVisible()
  await expect(page.getByText('a green square')).toBeVisible()
  await page.screenshot({ path: screenshotPath('04-accepted-filter') })

  // Export metadata.jsonl into a chosen folder.
  const out = tempDir('export')
  await page.getByTestId('open-export').click()
  await page.getByTestId('export-dir').fill(out)
  await page.screenshot({ path: screenshotPath('05-export-dialog') })
  await page.getByTestId('export-run').click()
  await expect(page.getByTestId('export-result')).toContainText('Wrote 2')
  const lines = readFileSync(join(out, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file_name: string; text: string })
  expect(lines.map((l) => l.text).sort()).toEqual(['a green square', 'a red square on gray'])
  expect(lines.map((l) => l.file_name).sort()).toEqual([first, second].map((s) => s!.trim()).sort())
  await page.screenshot({ path: screenshotPath('06-export-done') })
})

test('dark theme and the errors filter', async ({ page, serve }) => {
  const folder = await makeImageFolder()
  await openStudio(page, serve)
  await page.getByTestId('folder-input').fill(folder.root)
  await page.getByTestId('add-folder').click()
  await expect(page.getByTestId('count-total')).toHaveText('10 images')
  await page.getByRole('button', { name: /dark theme/ }).click()
  await page.getByTestId('filter-errors').click()
  await expect(page.getByTestId('cell')).toHaveCount(2)
  await expect(page.getByText(/cannot (read|decode) image/).first()).toBeVisible()
  await page.screenshot({ path: screenshotPath('07-dark-errors') })
})
