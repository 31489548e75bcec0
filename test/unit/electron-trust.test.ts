import { describe, expect, it } from 'vitest'
import { isAppUrl, isTrustedSenderFacts } from '../../src/main/electron/trust'

describe('Electron IPC sender trust', () => {
  const ok = { senderId: 3, expectedId: 3, isMainFrame: true, frameUrl: 'studio://app/index.html' }
  it('trusts only the main frame of our window on studio://app', () => {
    expect(isTrustedSenderFacts(ok)).toBe(true)
    expect(isTrustedSenderFacts({ ...ok, senderId: 4 })).toBe(false)
    expect(isTrustedSenderFacts({ ...ok, expectedId: null })).toBe(false)
    expect(isTrustedSenderFacts({ ...ok, isMainFrame: false })).toBe(false)
    expect(isTrustedSenderFacts({ ...ok, frameUrl: null })).toBe(false)
    expect(isTrustedSenderFacts({ ...ok, frameUrl: 'https://evil.example/' })).toBe(false)
    expect(isTrustedSenderFacts({ ...ok, frameUrl: 'file:///etc/passwd' })).toBe(false)
  })
  it('rejects look-alike app URLs', () => {
    expect(isAppUrl('studio://app/x')).toBe(true)
    expect(isAppUrl('studio://app.evil/x')).toBe(false)
    expect(isAppUrl('studio://evil@app/x')).toBe(false)
    expect(isAppUrl('studio://apps/x')).toBe(false)
    expect(isAppUrl('http://app/x')).toBe(false)
    expect(isAppUrl('not a url')).toBe(false)
  })
})
