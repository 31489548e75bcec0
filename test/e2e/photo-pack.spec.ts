// E2E (serve mode, Chromium): a new user with ordinary photos. First run offers the demo library and the
// photo pack; with the demo pack active the studio says plainly that it only knows ShapesWorld; the model
// manager gets the photo pack from a custom catalog on a fake hub (sizes and licences shown first, progress
// with stage and ETA), and a real photo (skimage's samples) then gets retrieved candidates with provenance; a
// decoder the model kit adds to the pack (random DeCap-layout weights) then writes candidates beside them.
import { spawnSync } from 'node:child_process'
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeHub, type FakeHub } from '../fixtures/fake-hub'
import { tempDir } from '../fixtures/images'
import { buildPhotoHub, photoHubUnavailable, PY, REPO, REVISION } from '../fixtures/photo-hub'
import { expect, openStudio, screenshotPath, startServe, test } from './fixtures'

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'
const ROOT = join(__dirname, '..', '..')

test('photos: first run, demo warning, get the photo pack, caption a real photo', async ({ page }) => {
  const why = photoHubUnavailable()
  test.skip(!!why, why ?? '')
  test.setTimeout(480_000)
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
      // the pack's patch route (graph surgery on the stock export): a 7×7 grid over the photo, showing the
      // per-region similarity of the selected (top) candidate
      const top = (await cands.first().locator('button.text').textContent())!.trim()
      await expect(page.getByTestId('heatmap-legend')).toContainText(`region similarity to “${top}”`)
      // (patch cells are titled with their value alone; crop boxes would be 'label: value')
      const heat = page.getByTestId('heatmap').locator('rect > title')
      await expect(heat).toHaveCount(49)
      for (const t of await heat.allTextContents()) expect(t).toMatch(/^-?\d+\.\d{3}$/)
      await page.screenshot({ path: screenshotPath('64-photos-candidates') })

      // 5. A decoder added by the model kit (DeCap's layout, RANDOM weights: tools/modelkit/import_decap.py),
      //    the pack re-activated: decoder candidates beside the retrieved ones, with their provenance on hover.
      const packDir = join(dataDir, 'packs', 'photo-clip-vit-b32')
      const work = tempDir('photo-e2e-decap')
      const py = (args: string[]) => {
        const r = spawnSync(PY, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } })
        if (r.status !== 0) throw new Error(`${args[0]}: ${r.stderr}`)
      }
      py(['-c', 'import sys; sys.path.insert(0, "tools/modelkit"); import torch, decap; torch.save(decap.random_state_dict(seed=4), sys.argv[1])', join(work, 'decap.pt')])
      py(['tools/modelkit/import_decap.py', '--pt', join(work, 'decap.pt'), '--pack', packDir, '--out', join(work, 'bundle'), '--install', '--default', '--allow-other-tokenizer'])
      await page.getByTestId('model-status').click()
      const rows = page.getByTestId('pack-row')
      await rows.filter({ hasText: 'shapes-demo' }).getByRole('button', { name: 'Activate' }).click()
      await expect(page.getByTestId('model-status')).toContainText('shapes-demo')
      await rows.filter({ hasText: 'photo-clip-vit-b32' }).getByRole('button', { name: 'Activate' }).click()
      await expect(page.getByTestId('model-status')).toContainText('photo-clip-vit-b32')
      await page.getByRole('button', { name: 'Close' }).last().click()
      await page.keyboard.press('Escape')
      await page.getByTestId('cell').nth(1).click()
      await expect(page.getByTestId('decoder-id').first()).toHaveText('decap-coco', { timeout: 60_000 })
      await expect(page.getByTestId('origin').first()).toContainText('COCO caption, CC BY 4.0')
      const decoderBadge = page.getByTestId('candidate').filter({ has: page.getByTestId('decoder-id') }).first().getByTestId('provenance')
      await expect(decoderBadge).toHaveAttribute('title', /decoder: decap-coco[\s\S]*seeds: [\s\S]*memory: projected onto \d+ datastore captions/)
      // the noise seeds behind the decoder candidate (DeCap's defaults: 1 noise sample around the projection, or
      // the clean decode of it): numbers or 'clean', never empty
      expect(await decoderBadge.getAttribute('title')).toMatch(/seeds: (clean|\d+)(, (clean|\d+))*(\n|$)/)
      await expect(heat).toHaveCount(49)
      const cellValues = async () => (await heat.allTextContents()).join(' ')
      await page.screenshot({ path: screenshotPath('65-photos-decoder-candidates') })

      // 6. Hover the decoder candidate, then a retrieved one: the 7×7 overlay shows that caption's per-region
      //    similarity (other values for each caption).
      const decoderCand = page.getByTestId('candidate').filter({ has: page.getByTestId('decoder-id') }).first()
      const decoderText = (await decoderCand.locator('button.text').textContent())!.trim()
      await decoderCand.hover()
      await expect(page.getByTestId('heatmap-legend')).toContainText(`region similarity to “${decoderText}”`)
      await expect(heat).toHaveCount(49)
      const decoderSims = await cellValues()
      await page.screenshot({ path: screenshotPath('66-photos-decoder-hover-heatmap') })
      const retrieved = page.getByTestId('candidate').filter({ has: page.getByTestId('origin') }).first()
      const retrievedText = (await retrieved.locator('button.text').textContent())!.trim()
      await retrieved.hover()
      await expect(page.getByTestId('heatmap-legend')).toContainText(`region similarity to “${retrievedText}”`)
      await expect.poll(cellValues).not.toBe(decoderSims)
      await page.screenshot({ path: screenshotPath('67-photos-retrieved-hover-heatmap') })
    } finally {
      await serve.stop()
    }
  } finally {
    if (oldEndpoint === undefined) delete process.env.HF_ENDPOINT
    else process.env.HF_ENDPOINT = oldEndpoint
    await server?.close()
  }
})
