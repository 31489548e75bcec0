// store/settings-repo.ts reads every value through a valibot schema ([Note: settings are input]): a row that
// is not JSON, or JSON of the wrong shape, reads as the fallback instead of flowing on as the wrong type;
// the analysis settings (refit interval, accepted count, last report) go through it.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import type { EngineCaller } from '../../src/main/engine/client'
import { createServices } from '../../src/main/services/services'
import { openDatabase } from '../../src/main/store/db'
import { SettingsRepo } from '../../src/main/store/settings-repo'
import { tempDir } from '../fixtures/images'

const Count = v.pipe(v.number(), v.integer(), v.minValue(0))

describe('settings repo', () => {
  it('returns the stored value when it matches the schema, else the fallback', () => {
    const db = openDatabase(':memory:')
    const s = new SettingsRepo(db)
    expect(s.get('missing', Count, 7)).toBe(7)
    s.set('n', 12)
    expect(s.get('n', Count, 7)).toBe(12)
    s.set('n', -3)
    expect(s.get('n', Count, 7)).toBe(7)
    s.set('n', '12')
    expect(s.get('n', Count, 7)).toBe(7)
    db.prepare(`INSERT INTO settings (key, value) VALUES ('broken', '{not json')`).run()
    expect(s.get('broken', Count, null)).toBeNull()
    const Obj = v.object({ a: v.string() })
    s.set('o', { a: 'x', extra: 1 })
    expect(s.get('o', Obj, null)).toEqual({ a: 'x' })
    db.close()
  })

  it('analysis.refitStatus answers with defaults when its settings rows are corrupt (it used to fail output validation)', async () => {
    const engine: EngineCaller = { call: async () => Promise.reject(new Error('no engine in this test')), dispose: async () => undefined }
    const services = createServices(tempDir('settings'), 'cli', { engine, resumeJobs: false })
    const put = services.ctx.db.prepare(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`)
    put.run('refit.every', JSON.stringify('often'))
    put.run('refit.acceptedAt', JSON.stringify({ n: 3 }))
    put.run('refit.last', JSON.stringify({ packId: 'p', method: 'sideways' }))
    expect(await services.call('analysis.refitStatus', {})).toEqual({ last: null, acceptsSince: 0, every: 50, accepted: 0 })
    await services.call('analysis.setRefitEvery', { every: 5 })
    expect(await services.call('analysis.refitStatus', {})).toMatchObject({ every: 5 })
    await services.close()
  })
})
