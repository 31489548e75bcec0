// Electron main process. The `studio://app/` scheme: renderer files from out/renderer, and media by image id
// through the same trust rule as serve mode (see services/media.ts), both streamed by services/static-files.ts
// (the module serve uses too). Nothing else is served; `file:` and remote URLs are blocked in window.ts.
import { protocol } from 'electron'
import { parseMediaPath, resolveMedia } from '../services/media'
import { rendererFile, toWebResponse } from '../services/static-files'
import type { Services } from '../services/services'
import { CSP } from '../serve/security'

import { APP_ORIGIN } from './trust'

export const SCHEME = 'studio'
export { APP_ORIGIN }

export function registerSchemePrivileges(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }])
}

function deny(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain' } })
}

export function handleProtocol(services: Services, rendererDir: string): void {
  protocol.handle(SCHEME, async (request) => {
    const url = new URL(request.url)
    if (url.host !== 'app') return deny(404, 'unknown host')
    if (url.pathname.startsWith('/media/')) {
      const media = parseMediaPath(url.pathname)
      if (!media) return deny(400, 'bad media path')
      try {
        return toWebResponse(await resolveMedia(services.ctx, media.kind, media.id))
      } catch (err) {
        return deny(404, (err as Error).message)
      }
    }
    const r = await rendererFile(rendererDir, url.pathname, { spaFallback: false })
    if (!r.ok) return deny(r.status, r.message)
    return toWebResponse(r.file, { 'Content-Security-Policy': CSP })
  })
}
