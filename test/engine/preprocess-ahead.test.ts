// Preprocessing ahead of the encoder ([Note: preprocess ahead]): the overlapped batch path gives the same
// embeddings as one image at a time, in order; a corrupt image fails alone; prefetched inputs are taken once.
import { mkdtempSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captionFiles, Engine, type CaptionResult } from '../../src/main/engine/worker'
import { overlapped, overlapPiece, PreprocessAhead } from '../../src/main/engine/worker/preprocess-ahead'
import type { PreprocessOutcome } from '../../src/main/engine/worker/preprocess'
import { solid, truncated } from './helpers/images'
import { writeFakePack } from './helpers/fake-pack'

let dir: string
let engine: Engine
const files: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'engine-ahead-'))
  writeFakePack(join(dir, 'pack'))
  engine = await Engine.open(join(dir, 'pack'), { intraOpThreads: 1, preprocessAhead: true })
  for (let i = 0; i < 20; i++) {
    const f = join(dir, `img-${String(i).padStart(2, '0')}.png`)
    await solid(f, [(i * 37) % 256, (i * 91 + 40) % 256, (250 - i * 11) % 256], 24 + i)
    files.push(f)
  }
})

afterAll(async () => {
  await engine?.close()
})

type Embedded = Awaited<ReturnType<Engine['embedImages']>>[number]
const vec = (r: Embedded | undefined): Float32Array => {
  if (!r || !('embedding' in r)) throw new Error(`expected an embedding, got ${JSON.stringify(r)}`)
  return Float32Array.from(r.embedding)
}

async function oneAtATime(list: readonly string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = []
  for (const f of list) out.push(vec((await engine.embedImages([f]))[0]))
  return out
}

describe('overlapped batch path', () => {
  it('splits batches into pieces of at least 4', () => {
    expect([1, 3, 4, 5, 8, 16, 17, 64].map(overlapPiece)).toEqual([1, 3, 4, 4, 4, 4, 5, 16])
  })

  it('embedImages over 13 files (4 overlapped pieces) equals one image at a time, in order', async () => {
    const list = files.slice(0, 13)
    const ref = await oneAtATime(list)
    // the images differ, so an order mix-up would show
    expect(new Set(ref.map((v) => v.join(','))).size).toBe(list.length)
    const got = await engine.embedImages(list)
    expect(got.map((r) => r.file)).toEqual(list)
    got.forEach((r, i) => expect(vec(r)).toEqual(ref[i]))
  })

  it('a corrupt image in the middle of an overlapped batch fails only that image', async () => {
    const bad = join(dir, 'bad.png')
    await truncated(bad)
    const list = [...files.slice(0, 6), bad, ...files.slice(6, 11)]
    const ref = await oneAtATime(files.slice(0, 11))
    const got = await engine.embedImages(list)
    expect(got.map((r) => r.file)).toEqual(list)
    const failed = got[6]!
    expect('error' in failed && failed.error.code).toBe('decode_error')
    const good = got.filter((_, i) => i !== 6)
    good.forEach((r, i) => expect(vec(r)).toEqual(ref[i]))
  })

  it('captionFiles over two chunks (the second decoded ahead) gives the single-image captions; a corrupt file in the second chunk fails alone', async () => {
    const bad = join(dir, 'bad2.png')
    await truncated(bad)
    const list = [...files.slice(0, 17), bad, ...files.slice(17, 19)]
    const got = await captionFiles(engine, list.map((file) => ({ file })), { noiseSamples: 1, noiseVariance: 0, retrieval: false })
    expect(got.map((r) => r.file)).toEqual(list)
    expect('error' in got[17]! && got[17].error.code).toBe('decode_error')
    for (const i of [0, 16, 18, 19]) {
      const [single] = await captionFiles(engine, [{ file: list[i]! }], { noiseSamples: 1, noiseVariance: 0, retrieval: false })
      expect((got[i] as CaptionResult).candidates.map((c) => c.text)).toEqual((single as CaptionResult).candidates.map((c) => c.text))
    }
  })

  it('prefetched inputs are the same as inputs preprocessed on demand', async () => {
    const list = files.slice(3, 9)
    const fresh = await engine.preprocess(list)
    engine.prefetch(list)
    const ahead = await engine.preprocess(list)
    ahead.forEach((p, i) => {
      const f = fresh[i]!
      if (!p.ok || !f.ok) throw new Error('unexpected failure')
      expect(p.value.pixels).toEqual(f.value.pixels)
      expect([p.value.width, p.value.height]).toEqual([f.value.width, f.value.height])
    })
  })
})

describe('overlap only with a spare core', () => {
  it('is off by default when the intra-op threads take every core, and the batch path gives the same embeddings', async () => {
    const all = await Engine.open(join(dir, 'pack'), { intraOpThreads: availableParallelism() })
    try {
      expect(all.overlapEnabled).toBe(false)
      const list = files.slice(0, 9)
      const got = await all.embedImages(list)
      const ref = await oneAtATime(list)
      got.forEach((r, i) => expect(vec(r)).toEqual(ref[i]))
    } finally {
      await all.close()
    }
  })
})

describe('overlapped()', () => {
  it('starts preparing piece k+1 before piece k is used, and keeps the order', async () => {
    const log: string[] = []
    const tick = () => new Promise((r) => setTimeout(r, 5))
    const out = await overlapped(
      [1, 2, 3, 4, 5, 6, 7],
      3,
      async (items) => {
        log.push(`prep ${items[0]}`)
        await tick()
        return items.map((x) => x * 10)
      },
      async (prepared, items) => {
        log.push(`use ${items[0]} start`)
        await tick()
        log.push(`use ${items[0]} end`)
        return prepared
      }
    )
    expect(out).toEqual([10, 20, 30, 40, 50, 60, 70])
    expect(log.indexOf('prep 4')).toBeLessThan(log.indexOf('use 1 end'))
    expect(log.indexOf('prep 7')).toBeLessThan(log.indexOf('use 4 end'))
  })
})

describe('PreprocessAhead', () => {
  const outcome = (file: string): PreprocessOutcome => ({ ok: true, value: { file, pixels: new Float32Array([file.length]), width: 1, height: 1 } })

  it('takes what was started once, runs the rest on demand, and stays bounded', async () => {
    const runs: string[][] = []
    const ahead = new PreprocessAhead(async (fs) => {
      runs.push([...fs])
      return fs.map(outcome)
    }, 3)
    ahead.start(['a', 'b'])
    ahead.start(['b', 'c'])
    expect(runs).toEqual([['a', 'b'], ['c']])
    const got = await ahead.take(['c', 'x', 'a'], undefined)
    expect(got.map((g) => g.ok && g.value.file)).toEqual(['c', 'x', 'a'])
    expect(runs).toEqual([['a', 'b'], ['c'], ['x']])
    expect(ahead.size).toBe(1) // b, never taken
    ahead.start(['d', 'e', 'f'])
    expect(ahead.size).toBe(3) // b dropped, oldest first
    await ahead.take(['b'], undefined)
    expect(runs.at(-1)).toEqual(['b'])
  })

  it('keys by crop boxes, and turns a failed run into per-file failures', async () => {
    let calls = 0
    const ahead = new PreprocessAhead(async () => {
      calls++
      throw new Error('boom')
    })
    ahead.start(['a'], [{ x: 0, y: 0, w: 1, h: 1, label: 'all' }])
    const [r] = await ahead.take(['a'], [{ x: 0, y: 0, w: 1, h: 1, label: 'all' }])
    expect(r!.ok).toBe(false)
    expect(calls).toBe(1)
    await expect(ahead.take(['a'], undefined)).rejects.toThrow('boom')
    expect(calls).toBe(2)
  })
})
