// CLI (plain Node). `worker --redis URL --roots MAP [--pack ID|DIR] [--concurrency N]`: a headless fleet
// worker (src/main/fleet/worker.ts) until SIGTERM or SIGINT, which let the chunks in progress finish.
// Every flag has an environment twin for containers (deploy/k8s): STUDIO_REDIS, STUDIO_ROOTS, STUDIO_PACK,
// STUDIO_CONCURRENCY, STUDIO_THREADS, STUDIO_LOCK_MS, STUDIO_STALLED_MS; a flag wins over its variable.
import { StudioError } from '@shared/errors'
import { defaultDataDir } from '../../services/data-dir'
import { describePack } from '../../fleet/protocol'
import { redactUrl } from '../../fleet/redis'
import { parseRoots } from '../../fleet/roots'
import { FleetWorker } from '../../fleet/worker'
import { num, resolvePackDir } from '../cli-support'
import { log, parse, type CliCommand } from '../command'

/** The environment the worker reads (deploy/ and its test use the same names). */
export const WORKER_ENV = ['STUDIO_REDIS', 'STUDIO_ROOTS', 'STUDIO_PACK', 'STUDIO_CONCURRENCY', 'STUDIO_THREADS', 'STUDIO_LOCK_MS', 'STUDIO_STALLED_MS', 'STUDIO_DATA_DIR'] as const

/** How long SIGTERM waits for the chunks in progress (Kubernetes' default grace period is 30 s). */
const GRACE_MS = 25_000

export const workerCommand: CliCommand = {
  name: 'worker',
  summary: 'Caption batches from a worker-fleet queue in Redis (BullMQ); never opens a library',
  usage: `usage: caption-studio worker --redis redis://host:6379 --roots STUDIO_PREFIX=LOCAL_DIR[,…] [--pack ID|DIR]
       [--concurrency N] [--threads N] [--data-dir DIR] [--lock-ms MS] [--stalled-ms MS]

  --roots        where the studio's paths are on this machine, e.g. /studio/photos=/mnt/photos (repeatable);
                 a job naming a file outside these folders is refused for that file
  --pack         a pack folder, or a pack id among the bundled packs and those installed in --data-dir
                 (default shapes-demo); jobs for any other pack, version or fingerprint are refused
  --concurrency  chunks captioned at once, one engine thread each (default 1)
  --threads      ONNX Runtime threads per engine (default 1)
  --lock-ms, --stalled-ms  BullMQ lock duration and stalled-job check interval (default 30000 each)
  Environment: STUDIO_REDIS, STUDIO_ROOTS, STUDIO_PACK, STUDIO_CONCURRENCY, STUDIO_THREADS, STUDIO_LOCK_MS,
  STUDIO_STALLED_MS (flags win). SIGTERM or SIGINT: finish the chunks in progress (at most 25 s), then exit.`,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        redis: { type: 'string' },
        roots: { type: 'string', multiple: true },
        pack: { type: 'string' },
        concurrency: { type: 'string' },
        threads: { type: 'string' },
        'data-dir': { type: 'string' },
        'lock-ms': { type: 'string' },
        'stalled-ms': { type: 'string' }
      },
      false
    )
    // only the names in WORKER_ENV can be read, so the list the deployment is checked against is complete
    const env = (name: (typeof WORKER_ENV)[number]): string | undefined => process.env[name]
    const redis = values.redis ?? env('STUDIO_REDIS')
    if (!redis) throw new StudioError('invalid_input', '--redis URL is required (or STUDIO_REDIS)')
    const envRoots = env('STUDIO_ROOTS')
    const roots = parseRoots(values.roots ?? (envRoots ? [envRoots] : []))
    if (roots.length === 0) throw new StudioError('invalid_input', '--roots is required (or STUDIO_ROOTS): a worker reads images only under mapped folders')
    const count = (flag: string, value: string | undefined) => {
      const n = num(value, flag, true)
      if (n !== undefined && n < 1) throw new StudioError('invalid_input', `--${flag} must be at least 1`)
      return n
    }
    const worker = await FleetWorker.start({
      redis,
      roots,
      packDir: await resolvePackDir(values.pack ?? env('STUDIO_PACK'), values['data-dir'] ?? defaultDataDir()),
      concurrency: count('concurrency', values.concurrency ?? env('STUDIO_CONCURRENCY')),
      threads: count('threads', values.threads ?? env('STUDIO_THREADS')),
      lockMs: count('lock-ms', values['lock-ms'] ?? env('STUDIO_LOCK_MS')),
      stalledMs: count('stalled-ms', values['stalled-ms'] ?? env('STUDIO_STALLED_MS')),
      log
    })
    log(`worker ${worker.name}: pack ${describePack(worker.identity)} on ${worker.status.provider ?? '?'}; roots ${roots.map((r) => `${r.from}=${r.to}`).join(', ')}; queue at ${redactUrl(redis)}`)
    log('ready')
    // [Note: fleet worker] a chunk abandoned here is not lost: its lock expires and another worker takes it
    return new Promise<number>((done) => {
      let stopping = false
      const stop = (sig: string) => {
        // open Redis retries would keep the process alive: leave at once
        if (stopping) process.exit(1)
        stopping = true
        log(`${sig}: finishing the chunks in progress (a second signal, or ${GRACE_MS / 1000} s, stops at once)`)
        const t = setTimeout(() => {
          log('stopping without waiting: the unfinished chunks go to other workers when their locks expire')
          process.exit(1)
        }, GRACE_MS)
        void worker.close().then(() => {
          clearTimeout(t)
          done(0)
        }, () => done(1))
      }
      process.on('SIGTERM', () => stop('SIGTERM'))
      process.on('SIGINT', () => stop('SIGINT'))
    })
  }
}
