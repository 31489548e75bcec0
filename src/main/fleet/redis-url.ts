// Host side (plain Node: studio, CLI, fleet worker; loads no Redis client, so the job runner and handlers can
// check a fleet target without loading BullMQ/ioredis, [Note: remote jobs]). Parsing, redacting and the
// queue-time host check of a `redis://[user:password@]host[:port][/db]` (or `rediss://`, TLS) URL.
// [Note: unresolvable fleet hosts] Waiting is right for a Redis that is down or unreachable now (refused,
// timed out, no route: it may come back), wrong for a host name that does not exist: a job queued for
// `redis://typo:6379` would wait forever. So a fleet job's host is looked up when it is queued, and a name
// the resolver says does not exist (ENOTFOUND, or ENODATA: the name has no address) refuses the job with that
// reason. A resolver that cannot answer now (EAI_AGAIN, a DNS outage) is not proof: such a job is queued
// and waits like one for a refused connection.
import { lookup } from 'node:dns/promises'
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

/** invalid_input when the URL's host name does not resolve ([Note: unresolvable fleet hosts]). */
export async function checkRedisHost(url: string): Promise<void> {
  const { host } = parseRedisUrl(url)
  try {
    await lookup(host)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new StudioError('invalid_input', `the fleet's Redis host "${host}" does not resolve (${code}): check the Redis URL ${redactUrl(url)}`)
  }
}
