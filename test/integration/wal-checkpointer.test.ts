// [Note: checkpoints off the main thread] The BUILT checkpoint thread (out/main/wal-checkpointer.js) on a real
// database file: the host's connection stops checkpointing (wal_autocheckpoint 0) while the thread copies the
// log into the database, so the log stays a fraction of what a connection that never checkpoints keeps; no row is
// lost across stop and reopen; a thread that cannot start or dies gives checkpointing back to the host's
// connection; hosts leave it off unless asked (see [Note: checkpoints off the main thread]). Build first; without out/ the thread part is skipped.
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkpointThreadWanted, startCheckpointer } from '../../src/main/store/checkpointer'
import { openDatabase } from '../../src/main/store/db'

const ENTRY = resolve(__dirname, '../../out/main/wal-checkpointer.js')
const built = existsSync(ENTRY)
if (!built) console.warn('wal-checkpointer.test.ts: out/main/wal-checkpointer.js is missing — run `npx electron-vite build` first; skipping')

const fresh = () => openDatabase(join(mkdtempSync(join(tmpdir(), 'wal-ckpt-')), 'studio.sqlite'))
const until = async (ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** 3,000 small transactions in 30 bursts (as a batch writes), `settle` awaited after each; the log file's
 *  size after. */
async function burst(db: ReturnType<typeof fresh>, settle: () => Promise<unknown> = () => new Promise((r) => setTimeout(r, 20))): Promise<number> {
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)`)
  const ins = db.prepare(`INSERT INTO t (body) VALUES (?)`)
  const one = db.transaction((i: number) => ins.run(`row ${i} `.repeat(40)))
  for (let b = 0; b < 30; b++) {
    for (let i = 0; i < 100; i++) one(b * 100 + i)
    await settle()
  }
  return statSync(`${db.name}-wal`).size
}

describe.skipIf(!built)('the WAL checkpoint thread', () => {
  it('checkpoints for the host: the host connection never does, the log stays small, every row survives', async () => {
    const db = fresh()
    const file = db.name
    const ck = startCheckpointer(db, { entry: ENTRY, intervalMs: 50 })
    expect(ck.stats().mode).toBe('thread')
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    // after each burst, wait for the thread's next checkpoint (however loaded the machine is)
    const walWith = await burst(db, () => {
      const seen = ck.stats().checkpoints
      return until(() => ck.stats().checkpoints > seen)
    })
    await until(() => ck.stats().frames > 0)
    expect(ck.stats().checkpoints).toBeGreaterThan(0)
    // the same writes on a connection that never checkpoints: the log holds every page of every commit
    const control = fresh()
    control.pragma('wal_autocheckpoint = 0')
    const walWithout = await burst(control)
    control.close()
    expect(walWith).toBeLessThan(walWithout / 3)
    await ck.stop()
    expect(ck.stats().mode).toBe('connection')
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    db.close()
    const again = openDatabase(file)
    expect((again.prepare(`SELECT count(*) AS n FROM t`).get() as { n: number }).n).toBe(3000)
    again.close()
  })

  it('a thread that is not built, or dies, leaves checkpointing to the host connection, with the reason', async () => {
    const db = fresh()
    const missing = startCheckpointer(db, { entry: join(tmpdir(), 'no-such-checkpointer.js') })
    expect(missing.stats()).toMatchObject({ mode: 'connection', reason: expect.stringMatching(/is not built/) })
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    const broken = join(mkdtempSync(join(tmpdir(), 'wal-ckpt-')), 'broken.js')
    writeFileSync(broken, `throw new Error('checkpointer exploded')`)
    const dies = startCheckpointer(db, { entry: broken })
    await until(() => dies.stats().mode === 'connection')
    expect(dies.stats().reason).toMatch(/checkpointer exploded/)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    await dies.stop()
    db.close()
  })

  it('is off in hosts unless STUDIO_CHECKPOINT_THREAD=1 (measured: it lengthened the host\'s stalls)', async () => {
    expect(checkpointThreadWanted({})).toBe(false)
    expect(checkpointThreadWanted({ STUDIO_CHECKPOINT_THREAD: '1' })).toBe(true)
    const db = fresh()
    const off = startCheckpointer(db, { entry: ENTRY, enabled: false })
    expect(off.stats()).toMatchObject({ mode: 'connection', reason: expect.stringMatching(/STUDIO_CHECKPOINT_THREAD=1/) })
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    await off.stop()
    db.close()
  })
})
