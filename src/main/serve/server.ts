// Serve host (plain Node). The studio over HTTP: static renderer, `POST /api/<op>` (JSON in, JSON envelope
// out), `GET /api/events` (server-sent events), `GET /media/...`. See security.ts for the trust rules.
import { rendererDir as defaultRendererDir } from '../paths'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { isOpName, isPublicOp } from '@shared/contract'
import { toEnvelope, StudioError } from '@shared/errors'
import { parseMediaPath, resolveMedia } from '../services/media'
import { rendererFile, type OpenFile } from '../services/static-files'
import type { Services } from '../services/services'
import { COOKIE, SECURITY_HEADERS, hostAllowed, newToken, originAllowed, requestToken, tokensEqual } from './security'

export interface ServeOptions {
  host?: string
  port?: number
  token?: string
  rendererDir?: string
  /** Also answer internal operations ([Note: contract tiers]); only for tests (`serve --test-ops`). */
  testOps?: boolean
}

export interface RunningServer {
  url: string
  openUrl: string
  token: string
  server: Server
  close(): Promise<void>
}

const MAX_BODY = 1_000_000

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store' })
  res.end(body)
}

function sendJson(res: ServerResponse, status: number, obj: unknown): void {
  send(res, status, JSON.stringify(obj), 'application/json; charset=utf-8')
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new StudioError('invalid_input', 'request body too large')
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return {}
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new StudioError('invalid_input', 'request body is not valid JSON')
  }
}

async function sendFile(res: ServerResponse, f: OpenFile, cache: string): Promise<void> {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': f.type, 'Content-Length': f.size, 'Cache-Control': cache })
  await new Promise<void>((resolveDone, reject) => {
    f.stream().on('error', reject).on('end', resolveDone).pipe(res)
  })
}

const STATUS: Record<string, number> = { invalid_input: 400, not_found: 404, unauthorized: 401, conflict: 409, exists: 409, unsupported: 501 }

export async function startServer(services: Services, opts: ServeOptions = {}): Promise<RunningServer> {
  const token = opts.token ?? newToken()
  const bindHost = opts.host ?? '127.0.0.1'
  const rendererDir = resolve(opts.rendererDir ?? defaultRendererDir())
  const allowedHosts = new Set<string>()
  const sse = new Set<ServerResponse>()

  const unsubscribe = services.ctx.subscribe((event) => {
    const line = `data: ${JSON.stringify(event)}\n\n`
    for (const res of sse) res.write(line)
  })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req, allowedHosts)) return send(res, 421, 'unexpected Host header')
    const url = new URL(req.url ?? '/', 'http://local')
    const given = url.searchParams.get('token')
    if (given !== null && req.method === 'GET' && url.pathname === '/') {
      if (!tokensEqual(given, token)) return send(res, 401, 'wrong token: open the URL printed by `npm run serve`')
      res.writeHead(302, { ...SECURITY_HEADERS, Location: '/', 'Set-Cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` })
      return void res.end()
    }
    const presented = requestToken(req)
    if (!presented || !tokensEqual(presented, token)) {
      return send(res, 401, 'Caption Studio: this server needs the token printed at start. Open the full URL it printed (…/?token=…).')
    }

    if (url.pathname.startsWith('/api/')) {
      if (url.pathname === '/api/events' && req.method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
        res.write(': connected\n\n')
        sse.add(res)
        req.on('close', () => sse.delete(res))
        return
      }
      if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: { code: 'invalid_input', message: 'use POST' } })
      if (!originAllowed(req, allowedHosts)) return sendJson(res, 403, { ok: false, error: { code: 'unauthorized', message: 'cross-origin request refused' } })
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendJson(res, 415, { ok: false, error: { code: 'invalid_input', message: 'content-type must be application/json' } })
      }
      const op = decodeURIComponent(url.pathname.slice('/api/'.length))
      if (isOpName(op) && !isPublicOp(op) && !opts.testOps) {
        return sendJson(res, 403, { ok: false, error: { code: 'unauthorized', message: `${op} is an internal operation (serve answers it only with --test-ops)` } })
      }
      try {
        const input = await readBody(req)
        const result = await services.call(op, input)
        return sendJson(res, 200, { ok: true, result })
      } catch (err) {
        const env = toEnvelope(err)
        if (env.code === 'internal') process.stderr.write(`[serve] ${op} failed: ${(err as Error).stack ?? env.message}\n`)
        return sendJson(res, STATUS[env.code] ?? 500, { ok: false, error: env })
      }
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed')
    const media = parseMediaPath(url.pathname)
    if (url.pathname.startsWith('/media/')) {
      if (!media) return send(res, 400, 'bad media path')
      try {
        return await sendFile(res, await resolveMedia(services.ctx, media.kind, media.id), 'private, max-age=3600')
      } catch (err) {
        const env = toEnvelope(err)
        return send(res, STATUS[env.code] ?? 500, env.message)
      }
    }

    // Static renderer files; unknown paths fall back to index.html (single-page app).
    const r = await rendererFile(rendererDir, url.pathname, { spaFallback: true })
    if (!r.ok) return send(res, r.status, r.message)
    return sendFile(res, r.file, r.index ? 'no-store' : 'public, max-age=31536000, immutable')
  }

  const server = createHttpServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, (err as Error).message)
      else res.destroy()
    })
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 0, bindHost, () => ok())
  })
  const port = (server.address() as AddressInfo).port
  for (const h of ['127.0.0.1', 'localhost', bindHost]) allowedHosts.add(`${h}:${port}`.toLowerCase())
  const shownHost = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost
  const url = `http://${shownHost}:${port}`
  return {
    url,
    openUrl: `${url}/?token=${token}`,
    token,
    server,
    async close() {
      unsubscribe()
      for (const res of sse) res.end()
      sse.clear()
      const closed = new Promise<void>((ok) => server.close(() => ok()))
      // Keep-alive and event-stream connections would hold close() open forever.
      server.closeAllConnections()
      await closed
    }
  }
}
