// E2E (serve mode): a pack with a pcm-net decoder (PCM-Net, issue 17). The demo pack copied with the random-weight
// pcm-net fixture of test/engine/pcm-decoder.test.ts (tools/modelkit/make_pcm_fixture.py) added as its default
// decoder, installed and activated through the API. The studio shows the decoder's candidate like the others
// (provenance names the kind), and while that candidate is selected or hovered the heatmap colours each patch
// the decoder mixed with a concept in that concept's colour, with a legend naming the concepts; hovering a
// retrieved candidate switches back to its per-region similarity. RANDOM weights: the captions mean nothing.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../fixtures/images'
import { DEMO_SAMPLES, apiOf, expect, openStudio, screenshotPath, startDemoServe, test } from './fixtures'

const PACK = join(__dirname, '..', '..', 'models', 'shapes-demo')
const FIX = join(__dirname, '..', 'fixtures', 'pcm-decoder')

/** The demo pack as `shapes-pcm`, with the fixture's pcm-net decoder as its default. */
function pcmPack(): string {
  const dir = tempDir('pcm-pack')
  cpSync(PACK, dir, { recursive: true })
  const fixture = JSON.parse(readFileSync(join(FIX, 'fixture.json'), 'utf8')) as { entry: { id: string; file: string } }
  cpSync(join(FIX, fixture.entry.file), join(dir, fixture.entry.file))
  const pj = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as { id: string; description: string; decoders: unknown[]; defaultDecoder: string; files: { path: string; bytes: number; sha256: string }[] }
  const bytes = readFileSync(join(dir, fixture.entry.file))
  pj.id = 'shapes-pcm'
  pj.description = 'shapes-demo with a random-weight pcm-net decoder (e2e)'
  pj.decoders.push(fixture.entry)
  pj.defaultDecoder = fixture.entry.id
  pj.files.push({ path: fixture.entry.file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })
  writeFileSync(join(dir, 'pack.json'), JSON.stringify(pj))
  return dir
}

test.describe('a pcm-net decoder in the studio', () => {
  test.skip(!existsSync(DEMO_SAMPLES) || !existsSync(join(FIX, 'fixture.json')), 'demo pack or pcm-net fixture not present')
  test.setTimeout(180_000)

  test('its candidate names the kind, and the heatmap shows which patches were mixed with which concept', async ({ page }) => {
    const serve = await startDemoServe('pcm')
    try {
      const call = apiOf(page.request, serve)
      await call('library.waitForScans', {})
      await call('models.install', { source: pcmPack(), activate: true })
      await openStudio(page, serve)
      await expect(page.getByTestId('model-status')).toContainText('shapes-pcm')

      await page.keyboard.press('Control+j')
      const cands = page.getByTestId('candidate')
      await expect(cands.first()).toBeVisible({ timeout: 60_000 })
      // retrieved candidates beside the decoder's (the pack's defaults leave retrieval off)
      await page.getByTestId('more').click()
      await expect.poll(() => cands.count(), { timeout: 60_000 }).toBeGreaterThan(1)

      const pcm = cands.filter({ has: page.getByTestId('decoder-kind') }).first()
      await expect(pcm.getByTestId('decoder-kind')).toHaveText('pcm-net')
      await expect(pcm.getByTestId('decoder-id')).toHaveText('pcm-fixture')
      await expect(pcm.getByTestId('provenance')).toHaveAttribute('title', /decoderKind: pcm-net[\s\S]*mixMap: \d+ of 16 patches mixed with \S/)
      const pcmText = (await pcm.locator('button.text').textContent())!.trim()

      // hover the pcm-net candidate: its mix-up map over the 4×4 pooled grid, coloured by concept
      await pcm.hover()
      const legend = page.getByTestId('heatmap-legend')
      await expect(legend).toContainText(`PCM-Net mix-up for “${pcmText}”`)
      const heat = page.getByTestId('heatmap')
      const mixed = heat.getByTestId('mix-cell')
      const plain = heat.getByTestId('plain-cell')
      // the fixture's mix-up mixes topM = 2 (patch, concept) pairs: one or two patches
      const nMixed = await mixed.count()
      expect(nMixed).toBeGreaterThanOrEqual(1)
      expect(nMixed).toBeLessThanOrEqual(2)
      await expect(plain).toHaveCount(16 - nMixed)
      // every mixed cell's concept is in the legend, in the legend's colour, and the legend's counts add up
      const items = legend.getByTestId('mix-legend-item')
      const words = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-concept')!))
      const counts = (await items.allTextContents()).map((t) => Number(/\((\d+)\)/.exec(t)![1]))
      expect(counts.reduce((a, b) => a + b, 0)).toBe(nMixed)
      const legendColour = Object.fromEntries(await items.evaluateAll((els) => els.map((e) => [e.getAttribute('data-concept')!, (e.querySelector('.dot') as HTMLElement).style.background])))
      for (const cell of await mixed.all()) {
        const word = (await cell.getAttribute('data-concept'))!
        expect(words).toContain(word)
        await expect(cell.locator('title')).toHaveText(`mixed with “${word}”`)
        const fill = await cell.getAttribute('fill')
        const swatch = await page.evaluate((c) => { const d = document.createElement('div'); d.style.background = c; return d.style.background }, fill!)
        expect(swatch).toBe(legendColour[word])
      }
      await page.screenshot({ path: screenshotPath('90-pcm-net-mixup-heatmap') })

      // hover a retrieved candidate: back to per-region similarity (no mix cells)
      const retrieved = cands.filter({ hasNot: page.getByTestId('decoder-kind') }).first()
      const retrievedText = (await retrieved.locator('button.text').textContent())!.trim()
      await retrieved.hover()
      await expect(legend).toContainText(`region similarity to “${retrievedText}”`)
      await expect(mixed).toHaveCount(0)
      await expect(plain).toHaveCount(0)
      await page.screenshot({ path: screenshotPath('91-pcm-net-retrieved-hover') })

      // select the pcm-net candidate with the keyboard, pointer away: the mix-up map follows the selection
      await page.mouse.move(5, 5)
      const index = (await cands.allTextContents()).findIndex((t) => t.includes('pcm-net'))
      for (let i = 0; i < 3 && (await cands.nth(index).getAttribute('aria-current')) !== 'true'; i++) await page.keyboard.press('ArrowUp')
      for (let i = 0; i < 20 && (await cands.nth(index).getAttribute('aria-current')) !== 'true'; i++) await page.keyboard.press('ArrowDown')
      await expect(cands.nth(index)).toHaveAttribute('aria-current', 'true')
      await expect(legend).toContainText(`PCM-Net mix-up for “${pcmText}”`)
      await expect(mixed).toHaveCount(nMixed)
    } finally {
      await serve.stop()
    }
  })
})
