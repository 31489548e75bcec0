// E2E (serve mode in Chromium): semantic search, "more like this" and the near-duplicate review on a generated
// library with known copies (resized, re-encoded, cropped, recoloured), indexed with the demo pack through the
// index job. Screenshots: search-semantic, search-more-like-this, duplicates-review.
import { makeDuplicateSet } from '../../src/main/eval/bench/duplicate-set'
import { tempDir } from '../fixtures/images'
import { apiOf, expect, openStudio, screenshotPath, test } from './fixtures'

test('semantic search ranks with similarity shown; more like this; duplicate review excludes copies from export', async ({ page, serve }) => {
  test.setTimeout(180_000)
  const api = apiOf(page.request, serve)
  const set = await makeDuplicateSet(tempDir('e2e-dups'), 12, 3)
  await api('library.addRoot', { path: set.root })
  await api('library.waitForScans', {})
  const { job } = await api<{ job: { id: number } | null }>('search.startIndex', {})
  expect(job).not.toBeNull()
  await api('jobs.waitIdle', {})
  const { ids } = await api<{ ids: number[] }>('library.listIds', {})
  const rows = await api<{ id: number; relPath: string }[]>('library.getImages', { ids })
  const id = Object.fromEntries(rows.map((r) => [r.relPath, r.id]))

  await openStudio(page, serve)
  await expect(page.getByTestId('cell')).toHaveCount(set.files.length)
  // semantic mode: the search box is a text query; every cell shows its similarity, best first
  await page.getByTestId('semantic-toggle').click()
  await page.getByTestId('search').fill('a red circle')
  const sims = page.getByTestId('cell-similarity')
  await expect(sims.first()).toBeVisible()
  const shown = (await sims.allTextContents()).map((t) => Number(t.replace('≈', '').trim()))
  expect(shown.length).toBeGreaterThan(5)
  expect(shown).toEqual([...shown].sort((a, b) => b - a))
  const ranked = await api<{ ids: number[] }>('search.query', { text: 'a red circle', limit: 500 })
  await expect(page.getByTestId('cell').first()).toContainText(rows.find((r) => r.id === ranked.ids[0])!.relPath.split('/').pop()!)
  await page.screenshot({ path: screenshotPath('search-semantic') })

  // more like this: open an original, ask for similar images; its copies come first
  await page.getByTestId('semantic-toggle').click()
  await page.getByTestId('search').fill('orig/0000')
  await expect(page.getByTestId('cell')).toHaveCount(1)
  await page.getByTestId('cell').first().dblclick()
  await page.getByTestId('more-like-this').click()
  await expect(page.getByTestId('like-chip')).toContainText('0000.png')
  await page.getByTestId('search').fill('')
  await expect(page.getByTestId('cell-similarity').first()).toBeVisible()
  // at least three of the first four are its copies (the grid re-lists once the search box is cleared)
  await expect.poll(async () => ((await page.getByTestId('cell').allTextContents()).slice(0, 4).join(' ').match(/0000-/g) ?? []).length).toBeGreaterThanOrEqual(3)
  await page.screenshot({ path: screenshotPath('search-more-like-this') })
  await page.getByRole('button', { name: /Stop ranking by similarity/ }).click()
  await expect(page.getByTestId('like-chip')).toHaveCount(0)

  // duplicate review: the groups are the generated ones; keep the original, exclude the copies
  await page.getByTestId('open-duplicates').click()
  const groups = page.getByTestId('dup-group')
  await expect(groups).toHaveCount(set.groups.length, { timeout: 120_000 })
  await expect(page.getByTestId('dup-preview')).toContainText(`${set.groups.length} groups`)
  const first = groups.filter({ hasText: 'orig/0000.png' })
  await first.getByRole('radio', { name: 'orig/0000.png' }).check()
  await first.getByTestId('dup-resolve').click()
  await expect(first.getByTestId('dup-excluded')).toHaveCount(set.groups[0]!.length - 1)
  await page.screenshot({ path: screenshotPath('duplicates-review') })
  // the slider's preview: a strict threshold leaves fewer groups
  await page.getByTestId('dup-threshold').fill('1')
  await expect(page.getByTestId('dup-preview')).toContainText('at 1.000')
  for (const rel of set.files) await api('captions.accept', { imageId: id[rel], text: `shapes ${rel}` })
  const out = await api<{ captions: number }>('exports.run', { format: 'csv', outDir: tempDir('e2e-dups-csv') })
  expect(out.captions).toBe(set.files.length - (set.groups[0]!.length - 1))
})
