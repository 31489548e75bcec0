// Serve host (plain Node). [Note: http status] The HTTP status of an API answer follows the error envelope's
// code (and, for io_error, its reason), so a proxy, a monitor or curl can tell a bad request from a fault:
// - 400 invalid_input: the request itself is wrong (schema, JSON, a path that does not exist or is no folder).
// - 401: no or a wrong token (answered before any operation runs); 403 unauthorized: the token is right but
//   this request is refused (an internal operation without --test-ops, a cross-origin post, a handler's own
//   refusal).
// - 404 not_found; 409 conflict / exists / cancelled (the request collided with the studio's state or with a
//   cancel: repeating it as is will not help, refreshing the state may).
// - 422 decode_error and model_error: the request was understood, but the data it names cannot be processed:
//   an image that does not decode, a pack whose files or pack.json are broken, a model that produced
//   nothing. The fault lies in data, not in the server: a 5xx would tell clients to retry and monitors
//   that the server is broken, and neither helps.
// - 501 unsupported: valid, but this studio (or this pack) cannot do it.
// - io_error by reason ([Note: io reasons]): 507 disk_full, 503 disk (permissions, read-only, I/O error, too
//   many open files: the environment refuses now; retry after fixing it), 502 network (a download source
//   failed); without a reason it is an internal fault, 500.
// - 500 internal: a bug (an unexpected exception, an output that breaks the contract). The only 500s.
import type { ErrorEnvelope } from '@shared/errors'

const BY_CODE: Record<ErrorEnvelope['code'], number> = {
  invalid_input: 400,
  unauthorized: 403,
  not_found: 404,
  conflict: 409,
  exists: 409,
  cancelled: 409,
  decode_error: 422,
  model_error: 422,
  unsupported: 501,
  io_error: 500,
  internal: 500
}

const BY_IO_REASON: Record<NonNullable<ErrorEnvelope['reason']>, number> = { disk_full: 507, disk: 503, network: 502 }

export function httpStatus(env: ErrorEnvelope): number {
  if (env.code === 'io_error' && env.reason) return BY_IO_REASON[env.reason]
  return BY_CODE[env.code] ?? 500
}
