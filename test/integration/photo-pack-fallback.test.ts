// Integration (Node, in-process engine; /usr/bin/python3 builds the fixture hub): the photo pack's fallback
// ([Note: patch route] in src/main/models/pack-build-stages.ts). A CLIP export whose graph the surgery cannot
// follow — the fixture hub's int8 vision model edited to pool token 1 instead of token 0, still a working
// model — is assembled by the builder's own assemblePhotoPack into a pack that keeps the stock file and the
// crops route, says why in pack.json, and captions a real photo with a crop heatmap, never a patch one.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { onnx } from '../../src/main/engine/packs/onnx-graph'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { assemblePhotoPack } from '../../src/main/models/photo-pack'
import { PATCH_MODEL } from '../../src/main/models/pack-build-stages'
import { pinnedPhotoInputs } from '../../src/main/eval/bench/pinned-photo-inputs'
import { tempDir } from '../fixtures/images'
import { buildPhotoHub, photoCaptions, photoHubUnavailable } from '../fixtures/photo-hub'

const why = photoHubUnavailable()
if (why) process.stderr.write(`photo-pack fallback test skipped: ${why}\n`)
const ROOT = join(__dirname, '..', '..')
const CHELSEA = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png'
const VISION = 'onnx/vision_model_quantized.onnx'

const engine = new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 })
afterAll(async () => {
  await engine.dispose()
})

/** The fixture's vision model with the pooled token moved from 0 to 1 (the Gather before post_layernorm). */
function poolToken1(file: string): void {
  const m = onnx.ModelProto.decode(readFileSync(file))
  const gather = m.graph!.node!.find((n) => n.name === '/vision_model/Gather')
  if (!gather) throw new Error(`${file}: no /vision_model/Gather node (the fixture export changed)`)
  const index = m.graph!.node!.find((n) => n.output![0] === gather.input![1])!
  index.attribute![0]!.t = onnx.TensorProto.create({ dims: [], dataType: 7, int64Data: [1] })
  writeFileSync(file, onnx.ModelProto.encode(m).finish())
}

describe.skipIf(!!why)('photo pack from a graph the surgery cannot rewrite', () => {
  it('keeps the stock vision model and the crops route, says why, and captions with crop boxes', async () => {
    const hub = buildPhotoHub()
    const clipDir = tempDir('fallback-clip')
    cpSync(hub.repoDir, clipDir, { recursive: true })
    poolToken1(join(clipDir, VISION))
    const inputs = pinnedPhotoInputs({ root: ROOT, work: tempDir('fallback-build'), clipDir, label: 'test', clipTitle: 'random CLIP pooling token 1 (test)', annotations: photoCaptions(60) })
    const { clip, paths } = inputs
    const none = () => undefined
    const pack = await assemblePhotoPack(
      { ...inputs, engine, signal: new AbortController().signal },
      { embed: none, concepts: none, datastore: none, install: none }
    )
    // the reason, in pack.json; the crops route; the stock file listed with its pinned sha256, no rewritten copy
    expect(pack.provenance.patchRoute).toEqual({ ok: false, reason: expect.stringMatching(/does not take token 0 of axis 1/) })
    expect(pack.defaults.regions).toBe('crops')
    expect(pack.description).toContain('crop heatmaps')
    expect(pack.models.image).not.toHaveProperty('patchGrid')
    expect(pack.models.image.file).toBe(VISION)
    expect(pack.files.find((f: { path: string }) => f.path === VISION)?.sha256).toBe(clip.files.find((f) => f.path === VISION)!.sha256)
    expect(pack.files.some((f: { path: string }) => f.path === PATCH_MODEL)).toBe(false)
    expect(existsSync(join(paths.stagePack, PATCH_MODEL))).toBe(false)

    writeFileSync(join(paths.stagePack, 'pack.json'), JSON.stringify(pack, null, 2))
    await engine.call('close', { packDir: paths.stagePack }) // the build's engine has the stage pack open
    const [r] = await engine.call('caption', { packDir: paths.stagePack, inputs: [{ file: CHELSEA }] })
    if (!r || 'error' in r) throw new Error(`caption failed: ${JSON.stringify(r)}`)
    expect(r.options.regions).toBe('crops')
    expect(r.regions?.kind).toBe('crops')
    expect(r.candidates.length).toBeGreaterThan(0)
    await engine.call('close', { packDir: paths.stagePack })
  }, 300_000)
})
