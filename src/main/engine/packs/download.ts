// Host (plain Node: Electron main, serve or CLI). Verified, resumable, cancellable file download.
// [Note: verified download] Bytes stream into `<dest>.part` while a sha256 is computed; on a dropped
// connection or a stalled stream (no bytes for `idleTimeoutMs`) the next attempt asks for the rest with an
// HTTP Range request (the hash is first re-primed from the bytes already on disk). A server that ignores
// Range (200 instead of 206) restarts the file. 5xx and network errors are retried with backoff; 4xx are
// not; an HTML page where a file was expected is refused at once. Only a file whose size and sha256 match is renamed onto `dest` (atomic on one filesystem). A
// mismatch deletes the partial file; if that attempt had resumed, one fresh attempt is made first. Cancel
// (AbortSignal) keeps `.part` so a later call resumes.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StudioError } from '@shared/errors'

export interface DownloadProgress {
  received: number
  total: number | null
}

export interface DownloadOptions {
  sha256?: string
  bytes?: number
  signal?: AbortSignal
  onProgress?: (p: DownloadProgress) => void
  retries?: number
  idleTimeoutMs?: number
  backoffMs?: number
}

export interface DownloadResult {
  bytes: number
  sha256: string
  attempts: number
  resumes: number
}

class Retryable extends Error {}

async function primeHash(path: string): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
  } catch {
    return { hash: createHash('sha256'), size: 0 }
  }
  return { hash, size }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const t = setTimeout(res, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      rej(new StudioError('cancelled', 'download cancelled'))
    }, { once: true })
  })

export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const retries = opts.retries ?? 4
  const idle = opts.idleTimeoutMs ?? 30_000
  const backoff = opts.backoffMs ?? 500
  const part = `${dest}.part`
  await mkdir(dirname(dest), { recursive: true })
  let attempts = 0
  let resumes = 0
  let freshAfterMismatch = false
  let lastError = ''
  while (attempts <= retries) {
    if (opts.signal?.aborted) throw new StudioError('cancelled', 'download cancelled')
    attempts++
    let resumedThisAttempt = false
    try {
      const { hash, size: have } = await primeHash(part)
      const ctl = new AbortController()
      const onAbort = () => ctl.abort()
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      let timer: NodeJS.Timeout | undefined
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => ctl.abort(new Retryable(`no data for ${idle} ms`)), idle)
      }
      try {
        arm()
        const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {}
        let res: Response
        try {
          res = await fetch(url, { headers, signal: ctl.signal })
        } catch (err) {
          if (opts.signal?.aborted) throw new StudioError('cancelled', 'download cancelled')
          throw new Retryable(`request failed: ${(err as Error).message}`)
        }
        if (res.status === 416 && opts.bytes !== undefined && have === opts.bytes) {
          // The partial file is already complete; fall through to verification.
          await res.body?.cancel()
        } else if (res.status >= 500) {
          await res.body?.cancel()
          throw new Retryable(`HTTP ${res.status} from ${url}`)
        } else if (res.status !== 200 && res.status !== 206) {
          await res.body?.cancel()
          throw new StudioError(res.status === 404 ? 'not_found' : 'io_error', `HTTP ${res.status} from ${url}`)
        } else if (/^text\/html/i.test(res.headers.get('content-type') ?? '') && !/\.html?$/i.test(new URL(url).pathname)) {
          // A login wall, an error page or a captive portal: never a model file (nothing is written).
          await res.body?.cancel()
          throw new StudioError('model_error', `${url} answered with an HTML page instead of the file (an error or login page?); nothing was kept`)
        } else {
          const append = res.status === 206 && have > 0
          resumedThisAttempt = append
          if (append) resumes++
          const h = append ? hash : createHash('sha256')
          let received = append ? have : 0
          const len = Number(res.headers.get('content-length') ?? NaN)
          const total = opts.bytes ?? (Number.isFinite(len) ? received + len : null)
          const fh = await open(part, append ? 'a' : 'w')
          let lastEmit = 0
          try {
            if (!res.body) throw new Retryable('empty response body')
            const reader = res.body.getReader()
            for (;;) {
              let chunk: Awaited<ReturnType<typeof reader.read>>
              try {
                chunk = await reader.read()
              } catch (err) {
                if (opts.signal?.aborted) throw new StudioError('cancelled', 'download cancelled')
                throw new Retryable(`connection lost after ${received} bytes: ${(err as Error).message}`)
              }
              if (chunk.done) break
              arm()
              await fh.write(chunk.value)
              h.update(chunk.value)
              received += chunk.value.length
              if (opts.bytes !== undefined && received > opts.bytes) throw new StudioError('io_error', `${url}: more bytes than the expected ${opts.bytes}`, 'network')
              const now = Date.now()
              if (opts.onProgress && now - lastEmit >= 100) {
                lastEmit = now
                opts.onProgress({ received, total })
              }
            }
          } finally {
            await fh.close()
          }
          if (total !== null && received < total) throw new Retryable(`connection closed after ${received} of ${total} bytes`)
          opts.onProgress?.({ received, total })
        }
      } finally {
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
      }
      // Verify the whole .part file (hash again from disk: cheap next to the network, and exact).
      const { hash: full, size } = await primeHash(part)
      const digest = full.digest('hex')
      if (opts.bytes !== undefined && size !== opts.bytes) {
        await rm(part, { force: true })
        throw new StudioError('io_error', `${url}: got ${size} bytes, expected ${opts.bytes}`, 'network')
      }
      if (opts.sha256 && digest !== opts.sha256) {
        await rm(part, { force: true })
        if (resumedThisAttempt && !freshAfterMismatch) {
          freshAfterMismatch = true
          throw new Retryable('sha256 mismatch after a resumed download; retrying from scratch')
        }
        throw new StudioError('io_error', `${url}: sha256 mismatch (got ${digest.slice(0, 12)}…, expected ${opts.sha256.slice(0, 12)}…)`, 'network')
      }
      await rename(part, dest)
      return { bytes: size, sha256: digest, attempts, resumes }
    } catch (err) {
      if (opts.signal?.aborted) throw new StudioError('cancelled', 'download cancelled')
      if (err instanceof Retryable) {
        lastError = err.message
        if (attempts > retries) break
        await sleep(backoff * 2 ** (attempts - 1), opts.signal)
        continue
      }
      throw err
    }
  }
  const st = await stat(part).catch(() => null)
  throw new StudioError('io_error', `download of ${url} failed after ${attempts} attempts: ${lastError}${st ? ` (${st.size} bytes kept for resume)` : ''}`)
}
