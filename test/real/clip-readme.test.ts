// The real model, where the network allows it (STUDIO_REAL_MODELS=1): download the pinned
// Xenova/clip-vit-base-patch32 files of the shipped catalog (models/catalog.json) and the CLIP README's
// CLIP.png, assemble the stage pack exactly as the pack builder does, and check the README's own result:
// softmax(100·cos) over "a diagram", "a dog", "a cat" gives about [0.9928, 0.0042, 0.0030] for fp32 weights;
// the catalog's files are int8, so "a diagram" must come first with ≥ 0.95. Elsewhere the test is skipped and
// says why. It has never run on our machines (no internet there): nothing in the docs claims it passed.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadCatalogs } from '../../src/main/engine/packs/catalog'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { fetchEntry } from '../../src/main/models/fetch-entry'
import { buildPaths, writeStagePack } from '../../src/main/models/pack-build-stages'
import { tempDir } from '../fixtures/images'

const enabled = process.env.STUDIO_REAL_MODELS === '1'
if (!enabled) process.stderr.write('real-model test skipped: set STUDIO_REAL_MODELS=1 on a machine that can reach huggingface.co and raw.githubusercontent.com\n')
const CLIP_PNG = 'https://raw.githubusercontent.com/openai/CLIP/main/CLIP.png'

describe.skipIf(!enabled)('real CLIP ViT-B/32 (pinned files)', () => {
  it("reproduces the CLIP README's probabilities for CLIP.png", async () => {
    const { entries } = await loadCatalogs([join(__dirname, '..', '..', 'models', 'catalog.json')])
    const clip = entries.find((e) => e.id === 'clip-vit-b32')!
    const work = tempDir('real-clip')
    const dir = await fetchEntry(clip, join(work, 'downloads'))
    const engine = new InProcessEngineClient({ providers: ['cpu'] })
    try {
      const paths = buildPaths(work, 1)
      mkdirSync(paths.work, { recursive: true })
      await writeStagePack(clip, dir, paths, engine)
      const res = await fetch(CLIP_PNG)
      expect(res.ok).toBe(true)
      const png = join(work, 'CLIP.png')
      writeFileSync(png, Buffer.from(await res.arrayBuffer()))
      const [img] = await engine.call('embedImages', { packDir: paths.stagePack, files: [png] })
      const texts = await engine.call('embedTexts', { packDir: paths.stagePack, texts: ['a diagram', 'a dog', 'a cat'] })
      if (!img || 'error' in img) throw new Error('CLIP.png did not embed')
      const logits = texts.map((t) => 100 * t.reduce((s, x, i) => s + x * img.embedding[i]!, 0))
      const m = Math.max(...logits)
      const ex = logits.map((l) => Math.exp(l - m))
      const probs = ex.map((e) => e / ex.reduce((a, b) => a + b, 0))
      process.stderr.write(`CLIP.png probabilities (int8 files): ${probs.map((p) => p.toFixed(4)).join(', ')}\n`)
      expect(probs[0]).toBeGreaterThanOrEqual(0.95)
      expect(probs[0]).toBeGreaterThan(probs[1]!)
      expect(probs[0]).toBeGreaterThan(probs[2]!)
    } finally {
      await engine.dispose()
    }
  }, 900_000)
})
