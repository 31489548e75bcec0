// Host side (plain Node: studio, CLI, fleet worker). Redis connection settings for BullMQ from a
// `redis://…` URL (parsed in redis-url.ts).
// [Note: fleet reconnects] Both kinds of connection retry forever with a capped delay, so a restarted Redis
// is found again by workers and studio alike. Blocking consumers (BullMQ Workers) need
// `maxRetriesPerRequest: null`; producers use a small number instead, so a call made while Redis is down
// fails after a few seconds and the caller's loop (batch.ts) can notice a pause or a shutdown and try again,
// rather than hanging until Redis returns.
import { Redis } from 'ioredis'
import { StudioError } from '@shared/errors'
import { parseRedisUrl, redactUrl } from './redis-url'

export { parseRedisUrl, redactUrl, checkRedisHost, type RedisTarget } from './redis-url'

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
