// Main process / serve (plain Node). Serving files, written once for both hosts: the content type of a file
// by extension (renderer assets and library images), which renderer file a URL path names (never one
// outside the renderer folder), and opening a file as a stream of known size. serve/server.ts pipes it into
// a Node response; the Electron `studio://` protocol (electron/protocol.ts) wraps it as a web Response.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { IMAGE_CONTENT_TYPES } from '../library/image-types'
import { isInside } from '../library/safe-path'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  ...IMAGE_CONTENT_TYPES
}

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

export interface OpenFile {
  path: string
  type: string
  size: number
  /** A fresh read stream of the whole file. */
  stream(): Readable
}

/** Stats `path` (it must be a regular file) and returns how to stream it; rejects otherwise. */
export async function openFile(path: string, type = contentTypeOf(path)): Promise<OpenFile> {
  const st = await stat(path)
  if (!st.isFile()) throw new Error(`${path} is not a file`)
  return { path, type, size: st.size, stream: () => createReadStream(path) }
}

/** The file as a web Response (the Electron protocol handler's currency), with extra headers. */
export function toWebResponse(f: OpenFile, headers: Record<string, string> = {}): Response {
  const body = Readable.toWeb(f.stream()) as ReadableStream<Uint8Array>
  return new Response(body, { status: 200, headers: { 'content-type': f.type, 'content-length': String(f.size), ...headers } })
}

export type RendererFile = { ok: true; file: OpenFile; index: boolean } | { ok: false; status: 400 | 404; message: string }

/**
 * The renderer file a URL path names: `/` is index.html; a path that escapes the folder (also when
 * percent-encoded) or cannot be decoded is 400. With `spaFallback` (serve: the single-page app owns its
 * paths) a missing path without an extension is index.html; otherwise a missing file is 404.
 */
export async function rendererFile(rendererDir: string, pathname: string, opts: { spaFallback: boolean }): Promise<RendererFile> {
  const dir = resolve(rendererDir)
  let rel: string
  try {
    rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '')
  } catch {
    return { ok: false, status: 400, message: 'bad path' }
  }
  const path = resolve(dir, rel)
  if (!isInside(dir, path)) return { ok: false, status: 400, message: 'bad path' }
  const index = join(dir, 'index.html')
  const found = await openFile(path).catch(() => null)
  if (found) return { ok: true, file: found, index: path === index }
  if (!opts.spaFallback || extname(rel)) return { ok: false, status: 404, message: 'not found' }
  const fallback = await openFile(index).catch(() => null)
  return fallback ? { ok: true, file: fallback, index: true } : { ok: false, status: 404, message: 'not found (is the renderer built? run `npm run build`)' }
}
