// Electron main process. The `studio://app/` scheme: renderer files from out/renderer, and media by image id
// through the same trust rule as serve mode (see services/media.ts). Nothing else is served; `file:` and
// remote URLs are blocked in window.ts.
import { net, protocol } from 'electron'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isInside } from '../library/safe-path'
import { parseMediaPath, resolveMedia } from '../services/media'
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
        const f = await resolveMedia(services.ctx, media.kind, media.id)
        return net.fetch(pathToFileURL(f.path).toString())
      } catch (err) {
        return deny(404, (err as Error).message)
      }
    }
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '')
    const file = resolve(rendererDir, rel)
    if (!isInside(resolve(rendererDir), file)) return deny(400, 'bad path')
    const res = await net.fetch(pathToFileURL(file).toString()).catch(() => null)
    if (!res || !res.ok) return deny(404, 'not found')
    const headers = new Headers(res.headers)
    headers.set('Content-Security-Policy', CSP)
    return new Response(res.body, { status: 200, headers })
  })
}
