// E2E (serve mode): a 50,000-image library stays usable — the grid keeps only the visible cells in the DOM,
// jumps to the end with the keyboard, and the counts cover everything. The rows are written straight into
// a fresh database (scanning 50,000 real files is measured by `npm run bench`, not here).
import { join } from 'node:path'
import { openDatabase } from '../../src/main/store/db'
import { tempDir } from '../fixtures/images'
import { expect, openStudio, screenshotPath, startServe, test } from './fixtures'

const N = 50_000

test('a 50,000-image grid is virtualised and navigable', async ({ page }) => {
  test.setTimeout(120_000)
  const dataDir = tempDir('large-data')
  const root = tempDir('large-root')
  const db = openDatabase(join(dataDir, 'studio.sqlite'))
  db.prepare(`INSERT INTO roots (path) VALUES (?)`).run(root)
  const ins = db.prepare(`INSERT INTO images (root_id, rel_path, hash, bytes, mtime_ms, width, height) VALUES (1, ?, ?, 1000, 0, 640, 480)`)
  db.transaction(() => {
    for (let i = 0; i < N; i++) ins.run(`album-${String(Math.floor(i / 1000)).padStart(2, '0')}/img-${String(i).padStart(5, '0')}.jpg`, `hash${i}`)
  })()
  db.close()

  const serve = await startServe(dataDir)
  await openStudio(page, serve)
  await expect(page.getByTestId('count-total')).toHaveText(`${N} images`)
  const cells = page.getByTestId('cell')
  await expect(cells.first()).toBeVisible()
  expect(await cells.count()).toBeLessThan(200)

  await page.getByTestId('grid').focus()
  await page.keyboard.press('End')
  await expect(page.getByText('img-49999.jpg')).toBeVisible()
  expect(await cells.count()).toBeLessThan(200)
  await page.keyboard.press('Home')
  await expect(page.getByText('img-00000.jpg')).toBeVisible()
  await page.screenshot({ path: screenshotPath('30-large-library') })
  await serve.stop()
})
