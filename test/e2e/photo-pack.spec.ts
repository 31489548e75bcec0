// E2E (serve mode, Chromium): a new user with ordinary photos. First run offers the demo library and the
// photo pack; with the demo pack active the studio says plainly that it only knows ShapesWorld; the model
// manager gets the photo pack from a custom catalog on a fake hub (sizes and licences shown first, progress
// with stage and ETA), and a real photo (skimage's samples) then gets retrieved candidates with provenance.
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeHub, type FakeHub } from '../fixtures/fake-hub'
import { tempDir } from '../fixtures/images'
import { buildPhotoHub, photoHubUnavailable, REPO, REVISION } from '../fixtures/photo-hub'
import { expect, openStudio, screenshotPath, startServe, test } from './fixtures'

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'

test('photos: first run, demo warning, get the photo pack, caption a real photo', async ({ page }) => {
  const why = photoHubUnavailable()
  test.skip(!!why, why ?? '')
  test.setTimeout(300_000)
  const hub = buildPhotoHub()
  let server: FakeHub | null = null
  const oldEndpoint = process.env.HF_ENDPOINT
  try {
    server = await startFakeHub({ repo: REPO, revision: REVISION, repoDir: hub.repoDir, filesDir: hub.filesDir, faults: { throttle: 3_000_000 } })
    const dataDir = tempDir('photo-e2e-data')
    const catalog = join(dataDir, '..', `catalog-${Date.now()}.json`)
    writeFileSync(catalog, hub.catalog(server.endpoint))
    process.env.HF_ENDPOINT = server.endpoint
    const serve = await startServe(dataDir, ['--catalog', catalog])
    try {
      await openStudio(page, serve)
      // 1. First run: an empty library offers both ways in.
      await expect(page.getByTestId('first-run')).toBeVisible()
      await expect(page.getByTestId('open-demo')).toBeVisible()
      await page.screenshot({ path: screenshotPath('60-photos-first-run') })

      // 2. Photos with the demo pack active: the studio says so where suggestions appear.
      const photos = tempDir('photo-e2e-lib')
      for (const f of ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg']) copyFileSync(join(SKIMAGE, f), join(photos, f))
      await page.getByTestId('folder-input').fill(photos)
      await page.getByTestId('add-folder').click()
      await expect(page.getByTestId('count-total')).toHaveText('4 images')
      await expect(page.getByTestId('domain-notice')).toContainText('only knows ShapesWorld')
      await page.screenshot({ path: screenshotPath('61-photos-demo-warning') })

      // 3. Get the photo pack: sizes and licences before anything downloads, then the build's progress.
      await page.getByTestId('notice-photo-pack').click()
      await expect(page.getByTestId('models-dialog')).toBeVisible()
      await expect(page.getByTestId('catalog-entry')).toHaveCount(2)
      await expect(page.getByTestId('caveat').first()).toBeVisible()
      await expect(page.getByTestId('get-photo-pack')).toContainText(/download/)
      const before = server.requests.length
      await page.screenshot({ path: screenshotPath('62-photos-catalog') })
      expect(server.requests.length).toBe(before)
      await page.getByTestId('get-photo-pack').click()
      await expect(page.getByTestId('build-stage')).toBeVisible()
      await expect(page.getByTestId('build-eta')).toBeVisible()
      await page.screenshot({ path: screenshotPath('63-photos-building') })
      await expect(page.getByTestId('pack-build')).toHaveAttribute('data-state', 'done', { timeout: 240_000 })
      await expect(page.getByTestId('model-status')).toContainText('photo-clip-vit-b32')
      await page.getByRole('button', { name: 'Close' }).last().click()
      await expect(page.getByTestId('domain-notice')).toHaveCount(0)

      // 4. A real photo: retrieved candidates that say where they came from.
      await page.getByTestId('cell').first().click()
      const cands = page.getByTestId('candidate')
      await expect(cands.first()).toBeVisible({ timeout: 60_000 })
      expect(await cands.count()).toBeGreaterThan(1)
      await expect(page.getByTestId('provenance').first()).toContainText(/retriev/i)
      await page.screenshot({ path: screenshotPath('64-photos-candidates') })
    } finally {
      await serve.stop()
    }
  } finally {
    if (oldEndpoint === undefined) delete process.env.HF_ENDPOINT
    else process.env.HF_ENDPOINT = oldEndpoint
    await server?.close()
  }
})
