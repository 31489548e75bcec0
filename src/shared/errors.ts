// Shared by every process. [Note: error envelope] Errors cross process and network boundaries as
// `{ code, message }` with a closed set of codes the UI can branch on; nothing is swallowed.
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

export interface ErrorEnvelope {
  code: ErrorCode
  message: string
}

export class StudioError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'StudioError'
    this.code = code
  }
  toEnvelope(): ErrorEnvelope {
    return { code: this.code, message: this.message }
  }
}

export function toEnvelope(err: unknown): ErrorEnvelope {
  if (err instanceof StudioError) return err.toEnvelope()
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'internal', message }
}

export function fromEnvelope(env: ErrorEnvelope): StudioError {
  const code = (ERROR_CODES as readonly string[]).includes(env.code) ? env.code : 'internal'
  return new StudioError(code, env.message)
}
