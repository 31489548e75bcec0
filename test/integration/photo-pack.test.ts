// The photo pack, end to end in-process against a fake hub: catalog → models.get (a pack-build job:
// download + verify the pins, embed the corpus, concepts, datastore, install) → caption a real photo.
// Refusals: a tampered file, a 404, an HTML page, a corpus that is not COCO JSON; a dropped connection
// resumes with Range; a cancelled build installs nothing and resumes to completion.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobSummary } from '../../src/shared/contract/jobs'
import { createServices, type Services } from '../../src/main/services/services'
import { startFakeHub, type FakeHub } from '../fixtures/fake-hub'
import { tempDir } from '../fixtures/images'
import { buildPhotoHub, photoHubUnavailable, REPO, REVISION, type PhotoHub } from '../fixtures/photo-hub'

const why = photoHubUnavailable()
if (why) process.stderr.write(`photo-pack tests skipped: ${why}\n`)
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'

let hub: PhotoHub
let server: FakeHub
const open: Services[] = []
const oldEndpoint = process.env.HF_ENDPOINT

beforeAll(async () => {
  if (why) return
  hub = buildPhotoHub()
  server = await startFakeHub({ repo: REPO, revision: REVISION, repoDir: hub.repoDir, filesDir: hub.filesDir })
  process.env.HF_ENDPOINT = server.endpoint
}, 120_000)

afterAll(async () => {
  for (const s of open) await s.close()
  await server?.close()
  if (oldEndpoint === undefined) delete process.env.HF_ENDPOINT
  else process.env.HF_ENDPOINT = oldEndpoint
})

function studio(catalogText?: string): Services {
  const dir = tempDir('photo-data')
  const catalog = join(dir, 'catalog.json')
  writeFileSync(catalog, catalogText ?? hub.catalog(server.endpoint))
  const s = createServices(dir, 'cli', { catalogFiles: [catalog], download: { retries: 2, backoffMs: 5, idleTimeoutMs: 5000 } })
  open.push(s)
  return s
}

async function waitFor(s: Services, jobId: number, states: JobSummary['state'][], ms = 120_000): Promise<JobSummary> {
  const t0 = Date.now()
  for (;;) {
    const { job } = (await s.call('jobs.get', { jobId })) as { job: JobSummary }
    if (states.includes(job.state)) return job
    if (Date.now() - t0 > ms) throw new Error(`job ${jobId} still ${job.state}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const get = (s: Services, extra: Record<string, unknown> = {}) => s.call('models.get', { clipId: 'clip-vit-b32', corpusId: 'coco-captions-2017', activate: true, ...extra }) as Promise<JobSummary>
const packDir = (s: Services) => join(s.ctx.dataDir, 'packs', 'photo-clip-vit-b32')

describe.skipIf(!!why)('photo pack from a (fake) hub', () => {
  it('lists the user catalog over the shipped one, with sizes and licences', async () => {
    const s = studio()
    const c = (await s.call('models.catalog', {})) as { entries: { id: string; from: string; downloadBytes: number | null; licence: string; installed: boolean }[]; hubEndpoint: string }
    const clip = c.entries.find((e) => e.id === 'clip-vit-b32')!
    expect(clip.from).toMatch(/catalog\.json$/)
    expect(clip.from).not.toContain('models/catalog.json')
    expect(clip.downloadBytes).toBeGreaterThan(100_000)
    expect(clip.installed).toBe(false)
    expect(c.hubEndpoint).toBe(server.endpoint)
  })

  it('builds, verifies and activates the pack, then captions a real photo by retrieval', async () => {
    const s = studio()
    server.faults.dropOnce = new Set(['onnx/vision_model_quantized.onnx'])
    const job = await get(s)
    expect(job.kind).toBe('pack-build')
    const end = await waitFor(s, job.id, ['done', 'failed'])
    server.faults.dropOnce = undefined
    expect(end.error).toBeNull()
    expect(end.state).toBe('done')
    // the dropped download resumed with a Range request instead of starting over
    expect(server.requests.some((r) => r.path === 'onnx/vision_model_quantized.onnx' && r.range !== null && r.status === 206)).toBe(true)
    const pack = JSON.parse(readFileSync(join(packDir(s), 'pack.json'), 'utf8'))
    expect(pack.domain).toBe('photos')
    expect(pack.tokenizer.type).toBe('hf-tokenizer-json')
    expect(pack.models.image.roles).toMatchObject({ pixels: 'pixel_values', embeds: 'image_embeds', tokens: 'token_embeds', attention: 'cls_attention' })
    // MacCap's patch route by graph surgery on the stock export, with its provenance
    expect(pack.models.image.patchGrid).toEqual([7, 7])
    expect(pack.provenance.patchRoute).toMatchObject({ ok: true, file: 'onnx/vision_model_patch.onnx' })
    expect(pack.provenance.patchRoute.provenance).toMatch(/derived from Xenova\/clip-vit-base-patch32@d15189d7028b\/onnx\/vision_model_quantized\.onnx@[0-9a-f]{12} by caption-studio graph-surgery/)
    expect(pack.defaults.regions).toBe('patch')
    expect(pack.files.map((f: { path: string }) => f.path)).not.toContain('onnx/vision_model_quantized.onnx')
    expect(pack.provenance.corpus.read).toBe(hub.corpusCaptions)
    expect(pack.provenance.corpus.duplicates).toBeGreaterThan(0)
    expect(pack.provenance.corpus.rows).toBe(hub.corpusCaptions - pack.provenance.corpus.duplicates)
    expect(pack.provenance.concepts.rows).toBeGreaterThan(400)
    const list = (await s.call('models.list', {})) as { activeId: string }
    expect(list.activeId).toBe('photo-clip-vit-b32')
    // the work folder is gone, nothing is left in staging
    expect(existsSync(join(s.ctx.dataDir, 'builds', `job-${job.id}`))).toBe(false)

    const lib = tempDir('photos')
    for (const f of ['astronaut.png', 'chelsea.png', 'coffee.png']) copyFileSync(join(SKIMAGE, f), join(lib, f))
    await s.call('library.addRoot', { path: lib })
    await s.call('library.waitForScans', {})
    const { ids } = (await s.call('library.listIds', {})) as { ids: number[] }
    const r = (await s.call('captions.suggest', { imageId: ids[0]!, options: {} })) as { candidates: { text: string; source: { method: string; params: Record<string, unknown> } }[]; result: { concepts: unknown[]; regions: { grid?: unknown } | null } }
    expect(r.candidates.length).toBeGreaterThan(1)
    expect(r.candidates.every((c) => c.source.method === 'retrieval')).toBe(true)
    // every retrieved candidate says where it came from
    expect(r.candidates.every((c) => c.source.params.retrievalSource === 'COCO caption, CC BY 4.0')).toBe(true)
    // diverse: no two candidates are the same caption
    expect(new Set(r.candidates.map((c) => c.text.toLowerCase())).size).toBe(r.candidates.length)
    expect(r.result.concepts.length).toBeGreaterThan(0)
    expect(r.result.regions).not.toBeNull()
  }, 240_000)

  it('refuses a tampered file, names it, and installs nothing', async () => {
    const s = studio()
    server.faults.tamper = new Set(['onnx/text_model_quantized.onnx'])
    const job = await get(s)
    const end = await waitFor(s, job.id, ['done', 'failed'])
    server.faults.tamper = undefined
    expect(end.state).toBe('failed')
    expect(end.error).toContain('onnx/text_model_quantized.onnx')
    expect(end.error).toMatch(/pin|sha256/)
    expect(existsSync(packDir(s))).toBe(false)
    expect(((await s.call('models.list', {})) as { activeId: string }).activeId).not.toBe('photo-clip-vit-b32')
  }, 120_000)

  it('refuses a 404 and an HTML page instead of a file', async () => {
    for (const fault of ['notFound', 'html'] as const) {
      const s = studio()
      server.faults[fault] = new Set(['preprocessor_config.json'])
      const job = await get(s)
      const end = await waitFor(s, job.id, ['done', 'failed'])
      server.faults[fault] = undefined
      expect(end.state).toBe('failed')
      expect(end.error).toMatch(fault === 'notFound' ? /HTTP 404/ : /HTML page/)
      expect(existsSync(packDir(s))).toBe(false)
    }
  }, 120_000)

  it('refuses a corpus that is not COCO captions JSON', async () => {
    const bad = JSON.parse(hub.catalog(server.endpoint))
    const dir = tempDir('bad-corpus')
    mkdirSync(join(dir, 'annotations'), { recursive: true })
    const text = JSON.stringify({ images: [], categories: [{ id: 1 }] })
    writeFileSync(join(dir, 'plain.json'), text)
    const { createHash } = await import('node:crypto')
    bad.entries[1] = { ...bad.entries[1], source: { hub: 'url', url: `${server.endpoint}/files/x/` }, files: [{ path: 'plain.json', bytes: text.length, sha256: createHash('sha256').update(text).digest('hex'), role: 'corpus' }] }
    copyFileSync(join(dir, 'plain.json'), join(hub.filesDir, 'plain.json'))
    mkdirSync(join(hub.filesDir, 'x'), { recursive: true })
    copyFileSync(join(dir, 'plain.json'), join(hub.filesDir, 'x', 'plain.json'))
    const s = studio(JSON.stringify(bad))
    const job = await get(s)
    const end = await waitFor(s, job.id, ['done', 'failed'])
    expect(end.state).toBe('failed')
    expect(end.error).toMatch(/not COCO captions JSON/)
    expect(existsSync(packDir(s))).toBe(false)
  }, 120_000)

  it('cancel mid-build keeps the downloads, activates nothing; resume completes', async () => {
    const s = studio()
    server.faults.throttle = 4_000_000
    const job = await get(s)
    await waitFor(s, job.id, ['running'])
    // wait for some bytes, then cancel
    for (let i = 0; i < 200; i++) {
      const { job: j } = (await s.call('jobs.get', { jobId: job.id })) as { job: JobSummary }
      if (j.done > 0) break
      await new Promise((r) => setTimeout(r, 25))
    }
    const c = (await s.call('jobs.cancel', { jobId: job.id })) as JobSummary
    expect(c.state).toBe('cancelled')
    server.faults.throttle = undefined
    await new Promise((r) => setTimeout(r, 300))
    expect(existsSync(packDir(s))).toBe(false)
    expect(((await s.call('models.list', {})) as { activeId: string }).activeId).not.toBe('photo-clip-vit-b32')
    // finished work is kept: a partial download stays as .part and resumes with a Range request
    const { readdirSync, statSync } = await import('node:fs')
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]))
    const kept = walk(join(s.ctx.dataDir, 'downloads')).filter((f) => statSync(f).size > 0)
    expect(kept.length).toBeGreaterThan(0)
    const parts = kept.filter((f) => f.endsWith('.part')).map((f) => f.split('/downloads/')[1]!.split('/').slice(1).join('/').replace(/\.part$/, ''))
    const before = server.requests.length
    await s.call('jobs.resume', { jobId: job.id })
    const end = await waitFor(s, job.id, ['done', 'failed'])
    expect(end.error).toBeNull()
    expect(end.state).toBe('done')
    for (const p of parts) expect(server.requests.slice(before).find((r) => r.path === p)?.range, p).toMatch(/^bytes=\d+-$/)
    expect(existsSync(join(packDir(s), 'pack.json'))).toBe(true)
  }, 240_000)
})
