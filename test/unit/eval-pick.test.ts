// Choosing a pack's defaults from candidate runs (eval/pick.ts) and the CLI's candidate parsing.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseExtraConfig, readExtraConfigs } from '../../src/main/cli/commands/eval'
import type { RunResult } from '../../src/main/eval/harness'
import { pickDefault } from '../../src/main/eval/pick'

const run = (config: string, ciderD: number, truth: number | null, ms = 10): RunResult => ({
  config,
  split: 'val',
  msPerImage: ms,
  seconds: 1,
  decoderPicks: 1,
  captions: [],
  scores: { n: 10, failed: 0, ciderD, bleu: [0, 0, 0, 0], rougeL: 0, truth, heldOutNamed: null, clipS: null, refClipS: null }
})

describe('pickDefault', () => {
  it('weights CIDEr-D and truth equally, each relative to the best candidate', () => {
    // a: 2.0/2.4 + 0.6/0.7 = 0.833 + 0.857 = 1.690; b: 1 + 0.6/0.7 = 1.857; c: 2.2/2.4 + 1 = 1.917
    const p = pickDefault([run('a', 2.0, 0.6), run('b', 2.4, 0.6), run('c', 2.2, 0.7), run('not a candidate', 9, 1)], ['a', 'b', 'c'])!
    expect(p.config).toBe('c')
    expect(p.ranking.map((r) => r.config)).toEqual(['c', 'b', 'a'])
    expect(p.score).toBeCloseTo(2.2 / 2.4 + 1, 9)
  })
  it('breaks ties by truth, then speed; uses CIDEr-D alone without truth; null without candidates', () => {
    expect(pickDefault([run('slow', 2, 0.5, 20), run('fast', 2, 0.5, 10)], ['slow', 'fast'])!.config).toBe('fast')
    expect(pickDefault([run('x', 1, null), run('y', 2, null)], ['x', 'y'])!.config).toBe('y')
    expect(pickDefault([run('x', 1, 0.5)], ['z'])).toBeNull()
  })
})

describe('eval --options / --options-file', () => {
  it('parses named and bare JSON and refuses unknown or invalid options with the name', () => {
    expect(parseExtraConfig('ridge prefix={"align":"ridge","alignPrefix":true}', 0)).toMatchObject({ name: 'ridge prefix', options: { align: 'ridge', alignPrefix: true } })
    expect(parseExtraConfig('{"noiseSamples":4}', 1)).toMatchObject({ name: 'options 2', options: { noiseSamples: 4 } })
    expect(() => parseExtraConfig('x={"noiseSampels":4}', 0)).toThrow(/--options x/)
    expect(() => parseExtraConfig('x={"noiseSamples":-1}', 0)).toThrow(/--options x/)
    expect(() => parseExtraConfig('x={oops', 0)).toThrow(/not JSON/)
  })
  it('reads a candidates file in order, skipping // comment keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cand-'))
    const f = join(dir, 'c.json')
    writeFileSync(f, JSON.stringify({ '// about': 'notes', b: { regions: 'off' }, a: { regions: 'patch', rerank: true } }))
    expect(readExtraConfigs(f).map((c) => [c.name, c.options])).toEqual([['b', { regions: 'off' }], ['a', { regions: 'patch', rerank: true }]])
    writeFileSync(f, '[1]')
    expect(() => readExtraConfigs(f)).toThrow(/expected/)
    expect(() => readExtraConfigs(join(dir, 'missing.json'))).toThrow(/missing\.json/)
  })
  it('the committed demo candidates file is valid', () => {
    expect(readExtraConfigs('tools/eval/shapes-demo-default-candidates.json').length).toBeGreaterThan(5)
  })
})
