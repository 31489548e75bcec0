// E2E (serve mode in Chromium): the dataset health view. Captions with CLIP-S scores and keywords are written
// through the HTTP API; the view shows the counts and three Observable Plot charts, and a click on a length
// bin, a score bin, a keyword bar or a count tile filters the grid to exactly those images.
import { makeImageFolder } from '../fixtures/images'
import { addScannedFolder, apiOf, expect, openStudio, screenshotPath, test } from './fixtures'

const CAPTIONS: Record<string, [string, number]> = {
  'a/red.jpg': ['a red square on a gray background', 0.2],
  'a/green.png': ['a green square on a gray background', 0.25],
  'b/red.jpg': ['a blue square on gray', 0.3],
  'b/photo.tiff': ['an orange square near a red circle', 0.35],
  'alpha.png': ['square', 0.4]
}

test('health view: plots and counts; clicking a bin, a bar or a tile filters the grid', async ({ page, serve }) => {
  const api = apiOf(page.request, serve)
  const id = await addScannedFolder(api, (await makeImageFolder()).root)
  for (const [path, [text, clipS]] of Object.entries(CAPTIONS)) await api('captions.accept', { imageId: id[path], text, scores: { clipS } })
  await api('review.addTag', { imageIds: [id['a/red.jpg'], id['b/photo.tiff']], tag: 'red' })
  await api('review.addTag', { imageIds: [id['a/green.png']], tag: 'green' })

  await openStudio(page, serve)
  await page.getByTestId('open-health').click()
  const length = page.getByTestId('health-length')
  const score = page.getByTestId('health-score')
  const tags = page.getByTestId('health-tags')
  await expect(length.locator('svg')).toBeVisible()
  await expect(score.locator('svg')).toBeVisible()
  await expect(tags.locator('svg[viewBox]')).toBeVisible()
  await expect(page.getByTestId('health-tile-accepted')).toHaveText('5 accepted')
  await expect(page.getByTestId('health-tile-uncaptioned')).toHaveText('3 uncaptioned')
  await expect(page.getByTestId('health-tile-unreadable')).toHaveText('2 unreadable')
  await expect(page.getByTestId('health-duplicates')).toContainText('1 exact copies hidden')
  // lengths 1…7 words: seven one-word bins, three captions of 7 words in the last
  const lengthBins = length.locator('g.hit rect')
  await expect(lengthBins).toHaveCount(7)
  await page.screenshot({ path: screenshotPath('health-01-view'), fullPage: true })

  // the 7-word bin: exactly the three 7-word captions
  await lengthBins.nth(6).click()
  await expect(page.getByTestId('grid')).toBeVisible()
  await expect(page.getByTestId('cell')).toHaveCount(3)
  await expect(page.getByTestId('active-filters')).toContainText('caption words: 7–7')
  for (const p of ['a/red.jpg', 'a/green.png', 'b/photo.tiff']) await expect(page.getByTestId('grid')).toContainText(CAPTIONS[p]![0])
  await page.screenshot({ path: screenshotPath('health-02-length-filter') })

  // the 1-word bin
  await page.getByTestId('open-health').click()
  await length.locator('g.hit rect').first().click()
  await expect(page.getByTestId('cell')).toHaveCount(1)
  await expect(page.getByTestId('grid')).toContainText('alpha.png')

  // the highest CLIP-S bin holds the 0.4 caption only
  await page.getByTestId('open-health').click()
  await score.locator('g.hit rect').last().click()
  await expect(page.getByTestId('cell')).toHaveCount(1)
  await expect(page.getByTestId('grid')).toContainText('alpha.png')

  // the keyword bar "red"
  await page.getByTestId('open-health').click()
  await tags.locator('g.hit rect').first().click()
  await expect(page.getByTestId('cell')).toHaveCount(2)
  await expect(page.getByTestId('active-filters')).toContainText('tag: red')
  await page.screenshot({ path: screenshotPath('health-03-tag-filter') })

  // a count tile: the uncaptioned images, review filters cleared
  await page.getByTestId('open-health').click()
  await page.getByTestId('health-tile-uncaptioned').click()
  await expect(page.getByTestId('cell')).toHaveCount(3)
  await expect(page.getByTestId('filter-uncaptioned')).toHaveAttribute('aria-pressed', 'true')
})
