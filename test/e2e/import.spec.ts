// E2E (serve mode in Chromium): import a folder of .txt sidecars with a conflict, review the preview,
// apply with overwrite, export XMP sidecars (read back by ExifTool), then reopen the studio on the same
// data folder and find the imported captions.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../fixtures/images'
import { copyPhotos, exifJson } from '../fixtures/photos'
import { apiOf, expect, openStudio, screenshotPath, startServe, test } from './fixtures'

test('import .txt sidecars with a conflict, preview, apply, export XMP, reopen', async ({ page, request }) => {
  const photos = tempDir('e2e-import-photos')
  copyPhotos(photos, { 'cats/chelsea.png': 'chelsea.png', 'cats/coffee.png': 'coffee.png', 'space/hubble.jpg': 'hubble_deep_field.jpg' })
  writeFileSync(join(photos, 'cats/chelsea.txt'), 'a ginger cat looking up\n')
  writeFileSync(join(photos, 'cats/coffee.txt'), 'a red mug of coffee on a saucer\n')
  writeFileSync(join(photos, 'space/hubble.txt'), 'thousands of galaxies\n')
  const dataDir = tempDir('e2e-import-data')
  let serve = await startServe(dataDir, ['--add', photos])
  try {
    const call = apiOf(request, serve)
    await call('library.waitForScans', {})
    const { ids } = await call<{ ids: number[] }>('library.listIds', {})
    const rows = await call<{ id: number; relPath: string }[]>('library.getImages', { ids })
    const coffee = rows.find((r) => r.relPath === 'cats/coffee.png')!
    await call('captions.accept', { imageId: coffee.id, text: 'a cup of coffee' })

    await openStudio(page, serve)
    await expect(page.getByTestId('count-total')).toHaveText('3 images')
    await page.getByTestId('open-import').click()
    const dialog = page.getByTestId('import-dialog')
    await expect(dialog).toBeVisible()
    await page.getByTestId('import-path').fill(photos)
    await page.getByTestId('import-preview-run').click()
    const preview = page.getByTestId('import-preview')
    await expect(preview).toContainText('3 files, 3 images matched: 2 new captions, 0 unchanged, 1 conflicts (kept')
    const conflicts = page.getByTestId('import-conflicts')
    await expect(conflicts).toContainText('cats/coffee.png')
    await expect(conflicts).toContainText('a cup of coffee')
    await expect(conflicts).toContainText('a red mug of coffee on a saucer')
    await page.screenshot({ path: screenshotPath('import-01-preview') })

    // Nothing written by the preview.
    await expect(page.getByTestId('count-accepted')).toHaveText('1 accepted')
    await page.getByTestId('import-overwrite').check()
    await expect(preview).toHaveCount(0)
    await page.getByTestId('import-preview-run').click()
    await expect(preview).toContainText('1 conflicts (1 replaced)')
    await page.getByTestId('import-apply').click()
    await expect(page.getByTestId('import-result')).toContainText('Imported: 2 new captions, 1 replaced')
    await page.screenshot({ path: screenshotPath('import-02-applied') })
    await dialog.getByRole('button', { name: 'Close' }).click()
    await expect(page.getByTestId('count-accepted')).toHaveText('3 accepted')

    // Export XMP sidecars next to the photos (darktable/digiKam naming).
    await page.getByTestId('open-export').click()
    await page.getByTestId('export-dialog').getByLabel(/XMP sidecars/).check()
    await page.getByTestId('export-run').click()
    await expect(page.getByTestId('export-result')).toContainText('Wrote 3')
    const xmp = exifJson(join(photos, 'cats/coffee.png.xmp'), ['-XMP:all'])
    expect(xmp['XMP-dc:Description']).toBe('a red mug of coffee on a saucer')
    await page.getByTestId('export-dialog').getByRole('button', { name: 'Close' }).click()
  } finally {
    await serve.stop()
  }

  // Reopen: a new studio process on the same data folder.
  serve = await startServe(dataDir)
  try {
    await openStudio(page, serve)
    await page.getByTestId('filter-accepted').click()
    await expect(page.getByTestId('cell')).toHaveCount(3)
    await expect(page.getByText('a ginger cat looking up')).toBeVisible()
    await expect(page.getByText('a red mug of coffee on a saucer')).toBeVisible()
    await page.screenshot({ path: screenshotPath('import-03-reopened') })
  } finally {
    await serve.stop()
  }
})
