// models.* and engine.* handlers (services/engine-handlers.ts) on the fake pack, in-process, with inputs and
// outputs checked against the contract schemas exactly as dispatch does.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { engine as engineOps } from '../../src/shared/contract/engine'
import type { StudioEvent } from '../../src/shared/contract/events'
import { models as modelOps } from '../../src/shared/contract/models'
import { InProcessEngineClient } from '../../src/main/engine/worker/in-process-client'
import type { EngineCaller } from '../../src/main/engine/client'
import { createEngineHandlers, createEngineService, type EngineHandlers } from '../../src/main/services/engine-handlers'
import { writeFakePack } from './helpers/fake-pack'
import { solid } from './helpers/images'

const ops = { ...engineOps, ...modelOps }
type Op = keyof typeof ops

let dir: string
let h: EngineHandlers
let client: InProcessEngineClient
const events: StudioEvent[] = []
const images = new Map<number, string>()

async function call<K extends Op>(name: K, input: unknown): Promise<v.InferOutput<(typeof ops)[K]['output']>> {
  const parsed = v.parse(ops[name].input, input)
  const out = await (h[name] as (i: unknown) => Promise<unknown>)(parsed)
  return v.parse(ops[name].output, out) as v.InferOutput<(typeof ops)[K]['output']>
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'engine-handlers-'))
  mkdirSync(join(dir, 'bundled'))
  writeFakePack(join(dir, 'bundled', 'fake'))
  await solid(join(dir, 'red.png'), [220, 30, 30])
  await solid(join(dir, 'blue.png'), [30, 40, 220])
  await solid(join(dir, 'green.png'), [30, 200, 40])
  images.set(1, join(dir, 'red.png'))
  images.set(2, join(dir, 'blue.png'))
  images.set(3, join(dir, 'green.png'))
  client = new InProcessEngineClient({ providers: ['cpu'], intraOpThreads: 1 })
  h = createEngineHandlers({
    dataDir: join(dir, 'data'),
    bundledPacksDir: join(dir, 'bundled'),
    engine: client,
    emit: (e) => events.push(e),
    imagePath: (id) => {
      const p = images.get(id)
      if (!p) throw new Error(`image ${id} not found`)
      return p
    }
  })
})

afterAll(async () => {
  await client?.dispose()
})

describe('engine handlers', () => {
  it('lists the bundled pack as active and activates it on CPU', async () => {
    const list = await call('models.list', {})
    expect(list.activeId).toBe('fake')
    expect(list.packs[0]).toMatchObject({ id: 'fake', origin: 'bundled', active: true, problem: null })
    const a = await call('models.activate', { id: 'fake' })
    expect(a.provider).toBe('cpu')
    expect(events.some((e) => e.type === 'engine.changed')).toBe(true)
    const st = await call('engine.status', {})
    expect(st.active?.packId).toBe('fake')
    expect(st.active?.provider).toBe('cpu')
  })

  it('engine.caption returns a contract-valid, ranked result', async () => {
    const r = await call('engine.caption', { imageId: 1, options: { seed: 4 }, references: ['a red square'] })
    expect(r.caption).toBe('a red square')
    expect(r.packId).toBe('fake')
    expect(r.candidates[0]!.scores.refClipS).toBeGreaterThan(0)
    expect(r.candidates[0]!.provenance.decoder?.id ?? r.candidates[0]!.provenance.retrieval).toBeTruthy()
  })

  it('vqa, regionSimilarity, gap, fit and set realignment are contract-valid', async () => {
    const q = await call('engine.vqa', { imageId: 3, question: 'what color is the shape?' })
    expect(q.answers[0]!.answer).toBe('green')
    const rs = await call('engine.regionSimilarity', { imageId: 2, captions: ['a blue square', 'a red square'], mode: 'crops' })
    expect(rs.heatmap.kind).toBe('crops')
    expect(rs.captions[0]!.global).toBeGreaterThan(rs.captions[1]!.global)
    const pairs = [
      { imageId: 1, caption: 'a red square' },
      { imageId: 2, caption: 'a blue square' },
      { imageId: 3, caption: 'a green square' }
    ]
    const g = await call('engine.gap', { pairs, fractions: [0, 1] })
    expect(g.n).toBe(3)
    expect(g.shift).toHaveLength(2)
    const sc = await call('engine.score', { imageId: 1, captions: ['a red square', 'a blue circle'], references: ['a red square'] })
    expect(sc.scores[0]!.clipS).toBeGreaterThan(sc.scores[1]!.clipS)
    expect(sc.scores[0]!.refClipS).toBeGreaterThan(sc.scores[1]!.refClipS!)
    expect(sc.scores[0]!.aclipS).toBeDefined()
    expect(sc.scores[0]!.quality).toBeGreaterThan(0)
    const fit = await call('engine.fitRealignment', { pairs, method: 'ridge' })
    expect(fit.realignment.matrix).toHaveLength(64)
    expect((await call('engine.status', {})).active?.realignment.ridge).toBe('custom')
    await call('engine.setRealignment', { method: 'ridge', realignment: null })
    expect((await call('engine.status', {})).active?.realignment.ridge).toBe('pack')
  })

  it('installs from a folder with progress events, and verify reports corruption', async () => {
    const src = join(dir, 'other')
    writeFakePack(src)
    const r = await call('models.install', { source: src })
    expect(r).toMatchObject({ id: 'fake', files: 10 })
    expect(events.filter((e) => e.type === 'models.install').map((e) => (e as { phase: string }).phase)).toContain('done')
    const list = await call('models.list', {})
    expect(list.packs.find((p) => p.id === 'fake')?.origin).toBe('installed')
    expect((await call('models.verify', { id: 'fake' })).ok).toBe(true)
    await expect(call('models.activate', { id: 'nope' })).rejects.toMatchObject({ code: 'not_found' })
    await expect(call('engine.caption', { imageId: 99 })).rejects.toThrow(/image 99 not found/)
  })

  it('captions with the newly active pack right after an install or activation (the active-pack memo is dropped)', async () => {
    expect((await call('engine.caption', { imageId: 1 })).packId).toBe('fake')
    const src = join(dir, 'second')
    writeFakePack(src, { id: 'fake-two' })
    await call('models.install', { source: src, activate: true })
    expect((await call('engine.caption', { imageId: 1 })).packId).toBe('fake-two')
    await call('models.activate', { id: 'fake' })
    expect((await call('engine.caption', { imageId: 1 })).packId).toBe('fake')
  })

  it('resolves the active pack once: caption calls minutes apart open no pack and rescan nothing', async () => {
    const opened: string[] = []
    const counting: EngineCaller = {
      call: (method, args, opts) => {
        if (method === 'open') opened.push((args as { packDir: string }).packDir)
        return client.call(method, args, opts)
      },
      dispose: async () => undefined
    }
    const data = join(dir, 'data-memo')
    writeFakePack(join(data, 'packs', 'fake-b'), { id: 'fake-b' })
    const svc = createEngineService({ dataDir: data, bundledPacksDir: join(dir, 'bundled'), engine: counting, emit: () => undefined, imagePath: (id) => images.get(id)! })
    vi.useFakeTimers({ toFake: ['performance', 'Date'] })
    try {
      for (let i = 0; i < 4; i++) {
        expect((await svc.caption(1 + (i % 3))).packId).toBe('fake')
        vi.advanceTimersByTime(120_000)
      }
      await svc.status()
      expect(opened).toHaveLength(1)
      // A choice written by hand (or by an older version) that is not a string id reads as no choice.
      writeFileSync(join(data, 'engine.json'), JSON.stringify({ activeId: 'fake-b' }))
      expect((await svc.handlers['models.list']({})).activeId).toBe('fake-b')
      writeFileSync(join(data, 'engine.json'), JSON.stringify({ activeId: 5 }))
      expect((await svc.handlers['models.list']({})).activeId).toBe('fake')
      // Activation drops the memo: the next caption resolves (and opens) again, once.
      await svc.handlers['models.activate']({ id: 'fake' })
      opened.length = 0
      await svc.caption(1)
      await svc.caption(2)
      expect(opened).toHaveLength(1)
    } finally {
      vi.useRealTimers()
    }
  })
})
