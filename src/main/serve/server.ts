// Serve host (plain Node). The studio over HTTP: static renderer, `POST /api/<op>` (JSON in, JSON envelope
// out), `GET /api/events` (server-sent events), `GET /media/...`. See security.ts for the trust rules.
import { rendererDir as defaultRendererDir } from '../paths'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { isOpName, isPublicOp } from '@shared/contract'
import { toEnvelope, type ErrorCode } from '@shared/errors'
import { httpStatus } from './http-status'
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
const MAX_DRAIN = 64 * MAX_BODY

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...headers })
  res.end(body)
}

function sendJson(res: ServerResponse, status: number, obj: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(obj), 'application/json; charset=utf-8', headers)
}

type Body = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string }

async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length
      // Past the limit the rest is read and dropped, so the 413 reaches the client (closing a socket it is
      // still writing to resets it before it reads the answer); past MAX_DRAIN the connection is cut.
      if (size > MAX_DRAIN) {
        req.destroy()
        break
      }
      if (size <= MAX_BODY) chunks.push(chunk as Buffer)
    }
  } catch {
    return { ok: false, status: 400, message: 'the request body was cut off' }
  }
  if (size > MAX_BODY) return { ok: false, status: 413, message: `request body too large (limit ${MAX_BODY} bytes)` }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false, status: 400, message: 'request body is not valid JSON' }
  }
}

/** A URL path component, decoded; null when its percent-encoding is malformed. */
function decodePath(s: string): string | null {
  try {
    return decodeURIComponent(s)
  } catch {
    return null
  }
}

async function sendFile(res: ServerResponse, f: OpenFile, cache: string): Promise<void> {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': f.type, 'Content-Length': f.size, 'Cache-Control': cache })
  await new Promise<void>((resolveDone, reject) => {
    f.stream().on('error', reject).on('end', resolveDone).pipe(res)
  })
}

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
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://local')
    } catch {
      return send(res, 400, 'bad request path')
    }
    const isApi = url.pathname.startsWith('/api/')
    // Under /api/ every answer is the typed envelope ([Note: http status]); elsewhere plain text.
    const refuse = (status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) => {
      if (!isApi) return send(res, status, message, undefined, headers)
      return sendJson(res, status, { ok: false, error: { code, message } }, headers)
    }
    if (!hostAllowed(req, allowedHosts)) return refuse(421, 'unauthorized', 'unexpected Host header')
    const given = url.searchParams.get('token')
    if (given !== null && req.method === 'GET' && url.pathname === '/') {
      if (!tokensEqual(given, token)) return send(res, 401, 'wrong token: open the URL printed by `npm run serve`')
      res.writeHead(302, { ...SECURITY_HEADERS, Location: '/', 'Set-Cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` })
      return void res.end()
    }
    const presented = requestToken(req)
    if (!presented || !tokensEqual(presented, token)) {
      return refuse(401, 'unauthorized', 'Caption Studio: this server needs the token printed at start. Open the full URL it printed (…/?token=…).', { 'WWW-Authenticate': 'Bearer realm="caption-studio"' })
    }

    if (isApi) {
      if (url.pathname === '/api/events' && req.method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
        res.write(': connected\n\n')
        sse.add(res)
        req.on('close', () => sse.delete(res))
        return
      }
      if (req.method !== 'POST') return refuse(405, 'invalid_input', 'use POST', { Allow: 'POST' })
      if (!originAllowed(req, allowedHosts)) return refuse(403, 'unauthorized', 'cross-origin request refused')
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(415, 'invalid_input', 'content-type must be application/json')
      const op = decodePath(url.pathname.slice('/api/'.length))
      if (op === null) return refuse(400, 'invalid_input', 'malformed percent-encoding in the operation name')
      if (isOpName(op) && !isPublicOp(op) && !opts.testOps) {
        return refuse(403, 'unauthorized', `${op} is an internal operation (serve answers it only with --test-ops)`)
      }
      const body = await readBody(req)
      if (!body.ok) return refuse(body.status, 'invalid_input', body.message)
      try {
        const result = await services.call(op, body.value)
        return sendJson(res, 200, { ok: true, result })
      } catch (err) {
        const env = toEnvelope(err)
        const status = httpStatus(env)
        if (status === 500) process.stderr.write(`[serve] ${op} failed: ${(err as Error).stack ?? env.message}\n`)
        return sendJson(res, status, { ok: false, error: env })
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
        return send(res, httpStatus(env), env.message)
      }
    }

    // Static renderer files; unknown paths fall back to index.html (single-page app).
    const r = await rendererFile(rendererDir, url.pathname, { spaFallback: true })
    if (!r.ok) return send(res, r.status, r.message)
    return sendFile(res, r.file, r.index ? 'no-store' : 'public, max-age=31536000, immutable')
  }

  const server = createHttpServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      process.stderr.write(`[serve] ${req.method} ${req.url?.slice(0, 200)} failed: ${(err as Error).stack ?? String(err)}\n`)
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
