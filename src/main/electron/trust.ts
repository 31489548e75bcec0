// Electron main process (pure, no Electron import so it is unit-tested in Node). [Note: IPC trust] Which
// senders and URLs the shell trusts: only the main frame of our own window, loaded from studio://app/.
export const APP_ORIGIN = 'studio://app'

export interface SenderFacts {
  senderId: number
  expectedId: number | null
  isMainFrame: boolean
  frameUrl: string | null
}

export function isTrustedSenderFacts(f: SenderFacts): boolean {
  if (f.expectedId === null || f.senderId !== f.expectedId || !f.isMainFrame || !f.frameUrl) return false
  return isAppUrl(f.frameUrl)
}

/** A URL inside the app: exactly the studio://app origin (no look-alike hosts, no userinfo tricks). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === 'studio:' && u.host === 'app' && u.username === '' && u.password === ''
  } catch {
    return false
  }
}
