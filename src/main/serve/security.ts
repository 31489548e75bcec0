// Serve host (plain Node). [Note: serve trust] The studio in a browser: bound to 127.0.0.1 by default; every
// request needs the random token printed at start (as a SameSite=Strict HttpOnly cookie set by opening the
// printed URL, or an `Authorization: Bearer` header), also when --host binds elsewhere; the Host header must
// name this server (DNS-rebinding guard); state-changing requests must be same-origin JSON.
import { timingSafeEqual, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const COOKIE = 'studio_token'

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY'
}

export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie
  if (!header) return null
  for (const part of header.split(';')) {
    const [k, ...rest] = part.trim().split('=')
    if (k !== COOKIE) continue
    try {
      return decodeURIComponent(rest.join('='))
    } catch {
      return null // malformed percent-encoding: no token, so 401 (not a 500)
    }
  }
  return null
}

export function requestToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim()
  return cookieToken(req)
}

/** Host header must be one of the names this server answers to (guards against DNS rebinding). */
export function hostAllowed(req: IncomingMessage, allowedHosts: ReadonlySet<string>): boolean {
  const host = req.headers.host
  return host !== undefined && allowedHosts.has(host.toLowerCase())
}

/** For POST: the Origin (when a browser sends one) must be this server. */
export function originAllowed(req: IncomingMessage, allowedHosts: ReadonlySet<string>): boolean {
  const origin = req.headers.origin
  if (!origin) return true
  try {
    const u = new URL(origin)
    return u.protocol === 'http:' && allowedHosts.has(u.host.toLowerCase())
  } catch {
    return false
  }
}
