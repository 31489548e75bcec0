// Shared by every process. [Note: error envelope] Errors cross process and network boundaries as
// `{ code, message }` (plus `reason` for io_error) with a closed set of codes the UI can branch on; nothing
// is swallowed.
export const ERROR_CODES = [
  'invalid_input',
  'not_found',
  'conflict',
  'exists',
  'io_error',
  'decode_error',
  'model_error',
  'cancelled',
  'unauthorized',
  'unsupported',
  'internal'
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** [Note: io reasons] What an io_error comes from, when it is known: the disk is full (`disk_full`), the disk
 *  or the OS refuses now (`disk`: permissions, read-only, I/O error, too many open files), or a remote server
 *  failed (`network`). Hosts answer each differently (serve: 507, 503, 502; see serve/http-status.ts); an
 *  io_error without a reason is an internal fault. */
export const IO_REASONS = ['disk_full', 'disk', 'network'] as const
export type IoReason = (typeof IO_REASONS)[number]

export interface ErrorEnvelope {
  code: ErrorCode
  message: string
  reason?: IoReason
}

export class StudioError extends Error {
  readonly code: ErrorCode
  readonly reason: IoReason | undefined
  constructor(code: ErrorCode, message: string, reason?: IoReason) {
    super(message)
    this.name = 'StudioError'
    this.code = code
    this.reason = reason
  }
  toEnvelope(): ErrorEnvelope {
    return this.reason ? { code: this.code, message: this.message, reason: this.reason } : { code: this.code, message: this.message }
  }
}

/** errno codes of a disk or OS that refuses (see [Note: io reasons]). */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT'])
const DISK_REFUSES = new Set(['EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EBUSY', 'ETXTBSY'])

/** SQLite result codes (better-sqlite3's SqliteError: `name` 'SqliteError', `code` 'SQLITE_…', no syscall)
 *  of a full or refusing disk. [Note: sqlite disk errors] Found by test/integration/disk-full.test.ts: an
 *  accept on a full disk was SQLITE_FULL, which was not a system error, so it answered `internal` (500). */
const SQLITE_FULL = new Set(['SQLITE_FULL'])
const SQLITE_REFUSES = /^SQLITE_(IOERR|READONLY|CANTOPEN|BUSY)(_|$)/

/** The io reason of a Node system error (`err.code` like ENOSPC and a `syscall`) or of a SQLite error
 *  (SQLITE_FULL, SQLITE_IOERR…), or null. */
export function ioReasonOf(err: unknown): IoReason | null {
  if (typeof err !== 'object' || err === null) return null
  const { code, syscall, name } = err as { code?: unknown; syscall?: unknown; name?: unknown }
  if (name === 'SqliteError' && typeof code === 'string') return SQLITE_FULL.has(code) ? 'disk_full' : SQLITE_REFUSES.test(code) ? 'disk' : null
  if (typeof code !== 'string' || typeof syscall !== 'string') return null
  return DISK_FULL.has(code) ? 'disk_full' : DISK_REFUSES.has(code) ? 'disk' : null
}

export function toEnvelope(err: unknown): ErrorEnvelope {
  if (err instanceof StudioError) return err.toEnvelope()
  const message = err instanceof Error ? err.message : String(err)
  // A raw system error that escaped a handler: a full or refusing disk is named as such, not as a bug.
  const reason = ioReasonOf(err)
  if (reason) return { code: 'io_error', message, reason }
  return { code: 'internal', message }
}

export function fromEnvelope(env: ErrorEnvelope): StudioError {
  const code = (ERROR_CODES as readonly string[]).includes(env.code) ? env.code : 'internal'
  const reason = env.reason !== undefined && (IO_REASONS as readonly string[]).includes(env.reason) ? env.reason : undefined
  return new StudioError(code, env.message, reason)
}
