// Regression tests for the bugs the contract fuzz found (test/integration/fuzz-contract.test.ts), each with
// the payload that found it, in-process through dispatch (serve-level ones are in serve-status.test.ts).
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { normalizeCaption } from '../../src/shared/caption-text'
import { clean } from '../../src/main/review/replace'
import { softmax } from '../../src/main/engine/math/linalg'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import { createServices, type Services } from '../../src/main/services/services'
import { makeImageFolder, tempDir } from '../fixtures/images'

let services: Services
let imageId: number

beforeAll(async () => {
  const folder = await makeImageFolder()
  services = createServices(tempDir('fuzz-reg'), 'cli', { resumeJobs: false, engine: new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 }) })
  await services.call('library.addRoot', { path: folder.root })
  await services.call('library.waitForScans', {})
  imageId = ((await services.call('library.listIds', {})) as { ids: number[] }).ids[0]!
})
afterAll(async () => {
  await services.close()
})

async function expectRefused(message: RegExp, cases: readonly (readonly [string, unknown])[]): Promise<void> {
  for (const [op, input] of cases) await expect(services.call(op, input), op).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(message) })
}

describe('bugs the fuzz found', () => {
  it('a NUL in a tag or caption is a space, not a failed SQLite CHECK (length() stops at a NUL): was a 500', async () => {
    // the fuzz's payload: {"imageIds":[3],"tag":"\u0000aa  ","kind":"concept","score":4.8e-104}
    await expect(services.call('review.addTag', { imageIds: [imageId], tag: '\u0000aa  ', kind: 'concept', score: 4.8e-104 })).resolves.toEqual({ added: 1 })
    const { tags } = (await services.call('review.tagsOf', { imageId })) as { tags: { tag: string }[] }
    expect(tags.map((t) => t.tag)).toEqual(['aa'])
    const r = (await services.call('captions.accept', { imageId, text: 'a\u0000red\u0007square\u0085' })) as { caption: { text: string } }
    expect(r.caption.text).toBe('a red square')
    await expect(services.call('captions.accept', { imageId, text: '\u0000\u0001' })).rejects.toMatchObject({ code: 'invalid_input' })
    // a replacement that inserts a NUL goes through the same rule
    const applied = (await services.call('review.replaceApply', { find: 'red', replace: '\u0000' })) as { changes: { after: string }[] }
    expect(applied.changes.map((c) => c.after)).toEqual(['a square'])
    // review's position-mapping clean() and the stored rule agree
    expect(clean('x\u0000\u0000y\u009f').text).toBe(normalizeCaption('x\u0000\u0000y\u009f'))
  })

  it('deeply nested caption params are refused at the boundary, not a stack overflow when stored: was a 500', async () => {
    let deep: unknown = 1
    for (let i = 0; i < 5000; i++) deep = { a: deep }
    const source = { kind: 'model', method: 'x', params: { e1rD: deep } }
    await expect(services.call('captions.accept', { imageId, text: 'w', source })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/params/) })
    await expect(services.call('captions.accept', { imageId, text: 'w', source: { ...source, params: { n: NaN } } })).rejects.toMatchObject({ code: 'invalid_input' })
    const ok = (await services.call('captions.accept', { imageId, text: 'w', source: { ...source, params: { a: { b: [1, 'x', null] } } } })) as { caption: { source: unknown } }
    expect(ok.caption.source).toMatchObject({ params: { a: { b: [1, 'x', null] } } })
  })

  it('a tiny concept temperature gives finite concept probabilities, not NaN (an invalid output: was a 500)', async () => {
    expect(softmax([0.3, 0.1, 0.2], 1e-323)).toEqual([1, 0, 0])
    const [a, b] = softmax([0.3, 0.1], 1)
    expect(a).toBeCloseTo(Math.exp(0.3) / (Math.exp(0.3) + Math.exp(0.1)), 12)
    expect(a! + b!).toBeCloseTo(1, 12)
    // the fuzz's options (engine.caption and captions.suggest): conceptTau 1e-323 with mix-up
    const options = { regions: 'off', topK: 214, noiseSamples: 6, noiseVariance: 6.4e-62, cleanSample: true, maxLength: 62, lengthPenalty: 5, retrieval: true, align: 'procrustes', alignPrefix: false, rankBy: 'refAclipS', mixup: true, concepts: true, conceptTau: 1e-323, conceptTopK: 31, seed: 136238096 }
    const r = (await services.call('engine.caption', { imageId, options, references: ['a red square'] })) as { concepts: { prob: number }[] }
    expect(r.concepts.length).toBeGreaterThan(0)
    for (const c of r.concepts) expect(Number.isFinite(c.prob)).toBe(true)
  })

  it('a ridge fit that the pairs cannot determine is invalid_input, not internal: was a 500', async () => {
    // the fuzz's payload: two pairs of one image and λ = 9.2e-166
    const pairs = [{ imageId, caption: '_' }, { imageId, caption: ';' }]
    await expect(services.call('engine.fitRealignment', { pairs, method: 'ridge', lambda: 9.182977539059638e-166 })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/singular|not finite/) })
    await expect(services.call('engine.fitRealignment', { pairs, method: 'ridge', lambda: 1, activate: false })).resolves.toMatchObject({ realignment: { method: 'ridge' } })
  })

  it.skipIf(process.platform === 'win32')('relative and (on POSIX) Windows-style paths are refused, not made under the working folder', async () => {
    const cwd = tempDir('fuzz-reg-cwd')
    const before = process.cwd()
    process.chdir(cwd)
    try {
      // relative paths are refused by the contract (they resolved against the server's working folder)
      await expectRefused(/absolute/, [
        ['exports.run', { format: 'txt', outDir: 'out' }],
        ['exports.run', { format: 'txt', outDir: '../out' }],
        ['library.addRoot', { path: '.' }],
        ['models.addCatalog', { path: 'catalog.json' }],
        ['models.install', { source: 'models/shapes-demo' }]
      ])
      // the fuzz's payload: exports.run {"format":"txt","outDir":"C:\\Windows\\System32"} made cwd/C:\Windows\System32
      await expectRefused(/not an absolute path on this/, [
        ['exports.run', { format: 'txt', outDir: 'C:\\Windows\\System32' }],
        ['exports.run', { format: 'jsonl', outDir: 'C:/x' }],
        ['library.addRoot', { path: 'C:\\x' }],
        ['models.addCatalog', { path: 'C:/catalog.json' }],
        ['models.install', { source: '\\\\server\\share\\pack' }]
      ])
      expect(readdirSync(cwd)).toEqual([])
      expect(existsSync(join(cwd, 'C:\\Windows\\System32'))).toBe(false)
    } finally {
      process.chdir(before)
    }
  })
})
