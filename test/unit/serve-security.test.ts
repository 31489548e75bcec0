import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { cookieToken, hostAllowed, newToken, originAllowed, requestToken, tokensEqual } from '../../src/main/serve/security'

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage
const allowed = new Set(['127.0.0.1:5178', 'localhost:5178'])

describe('serve security', () => {
  it('makes long random tokens and compares them exactly', () => {
    const a = newToken()
    expect(a.length).toBeGreaterThanOrEqual(32)
    expect(a).not.toBe(newToken())
    expect(tokensEqual(a, a)).toBe(true)
    expect(tokensEqual(a, a.slice(0, -1))).toBe(false)
    expect(tokensEqual(a, a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A'))).toBe(false)
  })
  it('reads the token from a bearer header or the cookie', () => {
    expect(requestToken(req({ authorization: 'Bearer abc' }))).toBe('abc')
    expect(cookieToken(req({ cookie: 'x=1; studio_token=t%2Bk; y=2' }))).toBe('t+k')
    expect(requestToken(req({}))).toBeNull()
  })
  it('accepts only our Host names (DNS rebinding guard)', () => {
    expect(hostAllowed(req({ host: '127.0.0.1:5178' }), allowed)).toBe(true)
    expect(hostAllowed(req({ host: 'evil.example:5178' }), allowed)).toBe(false)
    expect(hostAllowed(req({}), allowed)).toBe(false)
  })
  it('refuses cross-origin POSTs', () => {
    expect(originAllowed(req({}), allowed)).toBe(true)
    expect(originAllowed(req({ origin: 'http://localhost:5178' }), allowed)).toBe(true)
    expect(originAllowed(req({ origin: 'http://evil.example' }), allowed)).toBe(false)
    expect(originAllowed(req({ origin: 'null' }), allowed)).toBe(false)
  })
})
