// The error envelope ([Note: error envelope], [Note: io reasons]): raw system errors from a real full or
// refusing device are named io_error with their reason; other raw errors stay internal; reasons survive
// the envelope round trip (worker → host → renderer) and unknown ones are dropped.
import { mkdtempSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { fromEnvelope, ioReasonOf, StudioError, toEnvelope } from '../../src/shared/errors'
import { httpStatus } from '../../src/main/serve/http-status'

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure') }, (e: unknown) => e)

describe('error envelope', () => {
  it('names a full disk and a refusing file system from the errno of a real write', async () => {
    const full = await failure(writeFile('/dev/full', 'x'))
    expect(ioReasonOf(full)).toBe('disk_full')
    expect(toEnvelope(full)).toMatchObject({ code: 'io_error', reason: 'disk_full' })
    const refused = await failure(writeFile('/proc/version', 'x'))
    expect(toEnvelope(refused)).toMatchObject({ code: 'io_error', reason: 'disk' })
  })

  it('keeps other raw errors internal (a bug to fix, not a disk to blame)', async () => {
    const missing = await failure(writeFile('/no/such/dir/x', 'x'))
    expect(ioReasonOf(missing)).toBeNull()
    expect(toEnvelope(missing).code).toBe('internal')
    expect(toEnvelope(new TypeError('x is undefined'))).toEqual({ code: 'internal', message: 'x is undefined' })
    expect(ioReasonOf({ code: 'ENOSPC' })).toBeNull() // no syscall: not a system error
  })

  it('names SQLite errors of a refusing disk ([Note: sqlite disk errors]); other SQLite errors stay internal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'errors-sqlite-'))
    const w = new Database(join(dir, 'x.sqlite'))
    w.exec('CREATE TABLE t (a INTEGER PRIMARY KEY)')
    w.close()
    const ro = new Database(join(dir, 'x.sqlite'), { readonly: true })
    const readonly = (() => {
      try {
        ro.exec('INSERT INTO t VALUES (1)')
      } catch (err) {
        return err
      }
    })()
    ro.close()
    expect((readonly as { code: string }).code).toMatch(/^SQLITE_READONLY/)
    expect(toEnvelope(readonly)).toMatchObject({ code: 'io_error', reason: 'disk' })
    const db = new Database(':memory:')
    db.exec('CREATE TABLE t (a INTEGER PRIMARY KEY)')
    db.exec('INSERT INTO t VALUES (1)')
    const constraint = (() => {
      try {
        db.exec('INSERT INTO t VALUES (1)')
      } catch (err) {
        return err
      }
    })()
    expect((constraint as { code: string }).code).toMatch(/^SQLITE_CONSTRAINT/)
    expect(toEnvelope(constraint).code).toBe('internal')
    // the SQLite code alone, without the SqliteError name, is not trusted
    expect(ioReasonOf({ code: 'SQLITE_FULL' })).toBeNull()
  })

  it('round-trips the reason and drops unknown codes and reasons', () => {
    const e = fromEnvelope(new StudioError('io_error', 'gone', 'network').toEnvelope())
    expect([e.code, e.reason]).toEqual(['io_error', 'network'])
    expect(new StudioError('not_found', 'x').toEnvelope()).toEqual({ code: 'not_found', message: 'x' })
    const odd = fromEnvelope({ code: 'weird', message: 'm', reason: 'cosmic' } as never)
    expect([odd.code, odd.reason]).toEqual(['internal', undefined])
  })

  it('maps each envelope to its HTTP status ([Note: http status])', () => {
    const s = (code: string, reason?: string) => httpStatus({ code, message: '', ...(reason ? { reason } : {}) } as never)
    expect([s('invalid_input'), s('unauthorized'), s('not_found'), s('conflict'), s('exists'), s('cancelled')]).toEqual([400, 403, 404, 409, 409, 409])
    expect([s('decode_error'), s('model_error'), s('unsupported'), s('internal')]).toEqual([422, 422, 501, 500])
    expect([s('io_error'), s('io_error', 'disk_full'), s('io_error', 'disk'), s('io_error', 'network')]).toEqual([500, 507, 503, 502])
  })
})
