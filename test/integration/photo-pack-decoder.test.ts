// A caption decoder added to the photo pack: the fixtures build the photo pack from the fake hub (random-weight
// CLIP in the transformers.js layout, a small COCO corpus, the compact datastore), then the model kit imports a
// RANDOM state_dict with DeCap's exact keys and shapes (tools/modelkit/import_decap.py --install --default;
// --allow-other-tokenizer because the fixture's CLIP-format BPE has far fewer than CLIP's 49,408 ids) and the
// re-activated pack captions a real photo with decoder candidates beside the retrieved ones, each with its
// provenance (the decoder id, memory projection, seeds; the corpus attribution). Skipped, with the reason, where
// /usr/bin/python3 has no torch/onnx.
import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobSummary } from '../../src/shared/contract/jobs'
import { createServices, type Services } from '../../src/main/services/services'
import { startFakeHub, type FakeHub } from '../fixtures/fake-hub'
import { tempDir } from '../fixtures/images'
import { exportCorpusCommand } from '../../src/main/cli/commands/export-corpus'
import { buildPhotoHub, photoHubUnavailable, PY, REPO, REVISION } from '../fixtures/photo-hub'

const why = photoHubUnavailable()
if (why) process.stderr.write(`photo-pack decoder tests skipped: ${why}\n`)
const ROOT = join(__dirname, '..', '..')
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'

let server: FakeHub
let s: Services
let packDir = ''
const oldEndpoint = process.env.HF_ENDPOINT

async function waitFor(jobId: number): Promise<JobSummary> {
  for (let t0 = Date.now(); Date.now() - t0 < 300_000; await new Promise((r) => setTimeout(r, 100))) {
    const { job } = (await s.call('jobs.get', { jobId })) as { job: JobSummary }
    if (job.state === 'done' || job.state === 'failed') return job
  }
  throw new Error(`job ${jobId} did not finish`)
}

function py(args: string[]): string {
  const r = spawnSync(PY, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } })
  if (r.status !== 0) throw new Error(`${args[0]} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

type Cand = { text: string; source: { method: string; params: Record<string, unknown> } }

/** Add one sample photo as its own library root and get the studio's suggestions for it. */
async function suggest(photo: string, options: Record<string, unknown>): Promise<{ candidates: Cand[] }> {
  const lib = tempDir('photos')
  copyFileSync(join(SKIMAGE, photo), join(lib, photo))
  await s.call('library.addRoot', { path: lib })
  await s.call('library.waitForScans', {})
  const { ids } = (await s.call('library.listIds', {})) as { ids: number[] }
  return (await s.call('captions.suggest', { imageId: ids[ids.length - 1]!, options })) as { candidates: Cand[] }
}

beforeAll(async () => {
  if (why) return
  const hub = buildPhotoHub()
  server = await startFakeHub({ repo: REPO, revision: REVISION, repoDir: hub.repoDir, filesDir: hub.filesDir })
  process.env.HF_ENDPOINT = server.endpoint
  const dir = tempDir('photo-decoder-data')
  writeFileSync(join(dir, 'catalog.json'), hub.catalog(server.endpoint))
  s = createServices(dir, 'cli', { catalogFiles: [join(dir, 'catalog.json')] })
  const job = (await s.call('models.get', { clipId: 'clip-vit-b32', corpusId: 'coco-captions-2017', activate: true })) as JobSummary
  const end = await waitFor(job.id)
  if (end.state !== 'done') throw new Error(`photo pack build failed: ${end.error}`)
  packDir = join(dir, 'packs', 'photo-clip-vit-b32')
}, 400_000)

afterAll(async () => {
  await s?.close()
  await server?.close()
  if (oldEndpoint === undefined) delete process.env.HF_ENDPOINT
  else process.env.HF_ENDPOINT = oldEndpoint
})

describe.skipIf(!!why)('the photo pack with an imported DeCap decoder', () => {
  it('captions with decoder and retrieval candidates side by side, each with its provenance', async () => {
    const work = tempDir('decap-import')
    const pt = join(work, 'decap_random.pt')
    py(['-c', 'import sys; sys.path.insert(0, "tools/modelkit"); import torch, decap; torch.save(decap.random_state_dict(seed=3), sys.argv[1])', pt])
    const out = JSON.parse(py(['tools/modelkit/import_decap.py', '--pt', pt, '--pack', packDir, '--out', join(work, 'bundle'), '--install', '--default', '--allow-other-tokenizer']).trim().split('\n').pop()!)
    expect(out.check.onnxVsTorch).toBeLessThan(1e-4)
    expect(out.check.cachedVsUncached).toBeLessThan(1e-4)
    const pack = JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8'))
    expect(pack.defaultDecoder).toBe('decap-coco')
    expect(pack.decoders[0].cache.file).toBe('decoders/decap-coco/decoder_step.onnx')
    expect(pack.provenance.decoders[0]).toMatchObject({ id: 'decap-coco', licence: 'not stated by its authors' })

    // re-activation verifies every file again (the new graphs included) and loads the decoder
    await s.call('models.activate', { id: 'photo-clip-vit-b32' })
    const st = (await s.call('engine.status', {})) as { active: { decoders: { id: string }[]; defaultDecoder: string; defaults: Record<string, unknown> } }
    expect(st.active.decoders.map((d) => d.id)).toEqual(['decap-coco'])
    expect(st.active.defaults).toMatchObject({ memoryProjection: true, noiseSamples: 1 })

    const r = await suggest('chelsea.png', {})
    const dec = r.candidates.filter((c) => c.source.method.startsWith('decoder'))
    const ret = r.candidates.filter((c) => c.source.method === 'retrieval')
    expect(dec.length).toBeGreaterThan(0)
    expect(ret.length).toBeGreaterThan(0)
    for (const c of dec) {
      expect(c.source.params.decoder).toBe('decap-coco')
      expect(c.source.params.memory).toMatchObject({ tau: 0.01 })
      expect(c.text.trim().length).toBeGreaterThan(0)
    }
    for (const c of ret) expect(c.source.params.retrievalSource).toBe('COCO caption, CC BY 4.0')
  }, 400_000)

  it('trains our own noise-injected decoder on the pack corpus (export-corpus → train_decoder.py → add_decoder.py)', async () => {
    const work = tempDir('own-decoder')
    const corpus = join(work, 'corpus.jsonl')
    expect(await exportCorpusCommand.run(['--pack', packDir, '--out', corpus])).toBe(0)
    const lines = readFileSync(corpus, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { caption: string; ids: number[]; embedding: number[] })
    const pack = JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8'))
    expect(lines).toHaveLength(pack.datastore.rows)
    expect(lines[0]!.embedding).toHaveLength(512)
    expect(Math.hypot(...lines[0]!.embedding)).toBeCloseTo(1, 4)
    const t0 = performance.now()
    const trained = JSON.parse(py(['tools/modelkit/train_decoder.py', '--pack', packDir, '--data', corpus, '--out', join(work, 'bundle'), '--id', 'ours',
      '--width', '64', '--layers', '2', '--heads', '4', '--prefix-len', '1', '--batch', '32', '--epochs', '60', '--max-steps', '200', '--max-length', '20']).trim().split('\n').pop()!)
    const seconds = (performance.now() - t0) / 1000
    process.stderr.write(`train_decoder.py --pack, 200 steps on ${lines.length} captions: ${seconds.toFixed(1)} s (its own clock ${trained.seconds} s)\n`)
    expect(trained.check.onnxVsTorch).toBeLessThan(1e-4)
    py(['tools/modelkit/add_decoder.py', '--pack', packDir, '--decoder', join(work, 'bundle')])
    await s.call('models.activate', { id: 'photo-clip-vit-b32' })
    const r = await suggest('coffee.png', { decoder: 'ours', memoryProjection: false, noiseSamples: 4 })
    const dec = r.candidates.filter((c) => c.source.method.startsWith('decoder'))
    expect(dec.length).toBeGreaterThan(0)
    for (const c of dec) {
      expect(c.source.params.decoder).toBe('ours')
      expect(c.source.params.noiseVariance === 0 || c.source.params.noiseVariance === 0.016).toBe(true)
      expect(c.source.params.memory).toBeUndefined()
    }
    // the noisy samples carry their seeds (the clean decode has none)
    expect(dec.flatMap((c) => c.source.params.seeds as (number | null)[]).some((x) => typeof x === 'number')).toBe(true)
    expect(r.candidates.some((c) => c.source.method === 'retrieval')).toBe(true)
  }, 400_000)
})
