// Unit-level integration test (Node, onnxruntime-node): the evaluation run end to end through the real
// engine on the hand-made fake pack of the engine tests (test/engine/helpers/fake-pack.ts) — every
// configuration of the ablation plan runs, nothing fails, and the table is rendered. No timing assertions.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { engineBackendFactory } from '../../src/main/eval/engine-backend'
import { resultsMarkdown } from '../../src/main/eval/report'
import { runEvaluation } from '../../src/main/eval/run'
import { writeFakePack } from '../engine/helpers/fake-pack'
import { solid } from '../engine/helpers/images'
import { tempDir } from '../fixtures/images'

describe('runEvaluation on the fake pack', () => {
  it('runs every configuration the pack supports and scores it', async () => {
    const dir = tempDir('eval-engine')
    const packDir = join(dir, 'pack')
    writeFakePack(packDir)
    const images = join(dir, 'images')
    mkdirSync(images)
    await solid(join(images, 'r.png'), [220, 30, 30])
    await solid(join(images, 'g.png'), [30, 200, 40])
    await solid(join(images, 'b.png'), [30, 40, 220])
    const refs = { 'r.png': ['a red square', 'a square'], 'g.png': ['a green square', 'a square'], 'b.png': ['a blue square', 'a square'] }
    const scenes = Object.fromEntries(
      Object.keys(refs).map((k) => [k, { background: 'gray', objects: [{ shape: 'square', colour: { r: 'red', g: 'green', b: 'blue' }[k[0]!]!, size: 'large', cx: 32, cy: 32 }] }])
    )
    writeFileSync(join(dir, 'refs.json'), JSON.stringify(refs))
    writeFileSync(join(dir, 'scenes.json'), JSON.stringify(scenes))
    const lines: string[] = []
    const { doc, runs } = await runEvaluation({
      packDir,
      splits: [{ name: 'solid', imagesDir: images, refsPath: join(dir, 'refs.json'), scenesPath: join(dir, 'scenes.json') }],
      configs: [],
      factory: engineBackendFactory(packDir, { providers: ['cpu'], intraOpThreads: 1 }),
      root: process.cwd(),
      command: 'test',
      log: (l) => lines.push(l)
    })
    // the fake pack has only a σ² = 0.016 decoder: the σ² = 0 rows (plain and DeCap's memory recipe) are
    // skipped, the other fifteen run — the three memory-projection rows (src/main/eval/configs.ts) included,
    // since the fake pack has a float32 caption datastore to project onto
    expect(lines).toContain('skipping dec σ²=0: pack has no σ² = 0 decoder')
    expect(lines).toContain('skipping dec σ²=0 + memory (DeCap): pack has no σ² = 0 decoder')
    expect(runs.map((r) => r.config)).toEqual(['retrieval', 'dec σ²=0.016', '+ patch', '+ crops', '+ patch + 8 noise + rerank',
      'dec σ²=0.016 + memory', '+ patch + memory', '+ patch + 8 noise + rerank + memory', '+ procrustes prefix', '+ ridge prefix', '+ retrieval', '+ procrustes', '+ ridge', '+ mix-up', 'default'])
    for (const r of runs) {
      expect(r.scores.failed, r.config).toBe(0)
      expect(r.scores.n).toBe(3)
      expect(r.scores.clipS).toBeGreaterThan(0)
    }
    // the fake decoder names the colour of a solid image: "a red square" etc., true of its scene
    const plain = runs.find((r) => r.config === 'dec σ²=0.016')!
    expect(plain.captions.map((c) => c.caption)).toEqual(['a blue square', 'a green square', 'a red square'])
    expect(plain.scores.truth).toBe(1)
    expect(plain.scores.rougeL).toBe(1)
    expect(plain.decoderPicks).toBe(1)
    expect(runs.find((r) => r.config === 'retrieval')!.decoderPicks).toBe(0)
    // memory rows have no retrieval: every caption is the decoder's (of the projected embedding)
    for (const name of ['dec σ²=0.016 + memory', '+ patch + memory', '+ patch + 8 noise + rerank + memory']) expect(runs.find((r) => r.config === name)!.decoderPicks, name).toBe(1)
    const md = resultsMarkdown(doc)
    expect(md).toContain('## solid (all 3 images)')
    expect(md).toContain('| dec σ²=0.016 |')
    expect(md).toContain('- **dec σ²=0** — skipped: pack has no σ² = 0 decoder')
  })
})
