// Host side (plain Node: studio, CLI, fleet worker). Redis connection settings for BullMQ from a
// `redis://[user:password@]host[:port][/db]` (or `rediss://`, TLS) URL.
// [Note: fleet reconnects] Both kinds of connection retry forever with a capped delay, so a restarted Redis
// is found again by workers and studio alike. Blocking consumers (BullMQ Workers) need
// `maxRetriesPerRequest: null`; producers use a small number instead, so a call made while Redis is down
// fails after a few seconds and the caller's loop (batch.ts) can notice a pause or a shutdown and try again,
// rather than hanging until Redis returns.
import { Redis } from 'ioredis'
import { StudioError } from '@shared/errors'

export interface RedisTarget {
  host: string
  port: number
  db: number
  username?: string
  password?: string
  tls?: Record<string, never>
}

/** Parse and check a Redis URL; invalid_input with the reason otherwise. */
export function parseRedisUrl(url: string): RedisTarget {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new StudioError('invalid_input', `not a Redis URL: ${redactUrl(url)} (expected redis://host:port)`)
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new StudioError('invalid_input', `a Redis URL starts with redis:// or rediss://, not ${u.protocol}//`)
  if (!u.hostname) throw new StudioError('invalid_input', 'the Redis URL has no host')
  const port = u.port ? Number(u.port) : 6379
  const dbText = u.pathname.replace(/^\//, '')
  const db = dbText ? Number(dbText) : 0
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new StudioError('invalid_input', `the Redis URL's database must be 0–15, not "${dbText}"`)
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {})
  }
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:/@]*:)[^@/]*@/, '$1***@')
}

const retryStrategy = (times: number): number => Math.min(200 * times, 2000)

/** Options for a BullMQ Worker (blocking reads): retried until Redis is back. */
export function consumerConnection(url: string) {
  return { ...parseRedisUrl(url), maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy }
}

/** Options for a BullMQ Queue that adds and inspects jobs: a call fails after a few reconnect attempts. */
export function producerConnection(url: string) {
  return { ...parseRedisUrl(url), maxRetriesPerRequest: 3, enableOfflineQueue: true, retryStrategy }
}

/** One connection attempt and a PING, without retries: io_error when Redis is not there. For one-off
 *  producers (the CLI) that should fail fast instead of waiting for Redis like the studio does. */
export async function checkRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const client = new Redis({ ...parseRedisUrl(url), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  let cause = ''
  client.on('error', (err: Error) => (cause ||= err.message))
  try {
    await client.connect()
    await client.ping()
  } catch (err) {
    throw new StudioError('io_error', `cannot reach Redis at ${redactUrl(url)}: ${cause || (err as Error).message}`)
  } finally {
    client.disconnect()
  }
}
