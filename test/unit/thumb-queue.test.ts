// The background thumbnail queue (src/main/library/thumb-queue.ts): visible ids first, FIFO otherwise, a
// bounded number of decodes at once, failures counted per group, cancel drops what has not started.
import { describe, expect, it } from 'vitest'
import { ThumbQueue, type ThumbItem } from '../../src/main/library/thumb-queue'
import type { Thumbnails } from '../../src/main/library/thumbnails'

/** A Thumbnails stand-in whose decodes finish when the test says so, recording the order they started in. */
function fakeThumbs(fail: ReadonlySet<string> = new Set()) {
  const started: string[] = []
  const release: (() => void)[] = []
  let inFlight = 0
  let maxInFlight = 0
  const thumbs = {
    ensure(hash: string): Promise<string> {
      started.push(hash)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      return new Promise((resolve, reject) =>
        release.push(() => {
          inFlight--
          if (fail.has(hash)) reject(new Error(`cannot decode ${hash}`))
          else resolve(`/thumbs/${hash}.webp`)
        })
      )
    }
  } as unknown as Thumbnails
  const tick = () => new Promise((r) => setTimeout(r, 0))
  /** Finish every decode in flight, then let the queue start the next ones. */
  const finishAll = async () => {
    for (const r of release.splice(0)) r()
    await tick()
  }
  return { thumbs, started, finishAll, tick, maxInFlight: () => maxInFlight }
}

const item = (id: number): ThumbItem => ({ id, hash: `h${id}`, abs: `/lib/${id}.jpg` })

describe('thumbnail queue', () => {
  it('makes the visible ids first, then the rest in the order they were queued', async () => {
    const f = fakeThumbs()
    const q = new ThumbQueue(() => f.thumbs, () => true, 1)
    const g = q.group()
    for (let id = 1; id <= 8; id++) g.add(item(id))
    await f.tick()
    expect(f.started).toEqual(['h1'])
    // the grid scrolled to images 6 and 3 (and 99, which is not queued)
    expect(q.prioritize([6, 3, 99])).toBe(2)
    while (f.started.length < 8) await f.finishAll()
    await f.finishAll()
    expect(f.started).toEqual(['h1', 'h6', 'h3', 'h2', 'h4', 'h5', 'h7', 'h8'])
    await g.settled()
    expect(g.pending).toBe(0)
    expect(q.size).toBe(0)
  })

  it('a later prioritize wins over an earlier one', async () => {
    const f = fakeThumbs()
    const q = new ThumbQueue(() => f.thumbs, () => true, 1)
    const g = q.group()
    for (let id = 1; id <= 6; id++) g.add(item(id))
    await f.tick()
    q.prioritize([5, 6])
    q.prioritize([4])
    while (f.started.length < 6) await f.finishAll()
    expect(f.started.slice(0, 4)).toEqual(['h1', 'h4', 'h5', 'h6'])
  })

  it('keeps at most `concurrency` decodes in flight and counts failures on the group', async () => {
    const f = fakeThumbs(new Set(['h2', 'h5']))
    const failed: number[] = []
    const q = new ThumbQueue(() => f.thumbs, (it) => (failed.push(it.id), true), 2)
    const g = q.group()
    for (let id = 1; id <= 7; id++) g.add(item(id))
    const done = g.settled()
    while (f.started.length < 7) await f.finishAll()
    await f.finishAll()
    await done
    expect(f.maxInFlight()).toBe(2)
    expect(failed.sort()).toEqual([2, 5])
    expect(g.failed).toBe(2)
  })

  it('cancel drops the items that have not started; settled still resolves', async () => {
    const f = fakeThumbs()
    const q = new ThumbQueue(() => f.thumbs, () => true, 1)
    const g = q.group()
    for (let id = 1; id <= 5; id++) g.add(item(id))
    await f.tick()
    g.cancel()
    const done = g.settled()
    await f.finishAll()
    await done
    expect(f.started).toEqual(['h1'])
    expect(q.size).toBe(0)
  })

  it('an id queued twice is decoded once', async () => {
    const f = fakeThumbs()
    const q = new ThumbQueue(() => f.thumbs, () => true, 1)
    const a = q.group()
    const b = q.group()
    a.add(item(1))
    a.add(item(2))
    b.add(item(2))
    b.add(item(3))
    while (f.started.length < 3) await f.finishAll()
    await f.finishAll()
    await Promise.all([a.settled(), b.settled()])
    expect(f.started).toEqual(['h1', 'h2', 'h3'])
  })
})
