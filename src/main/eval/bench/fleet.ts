// CLI (plain Node: `npm run bench -- --only fleet`). Throughput of the worker fleet on this machine: 1 vs 2
// `caption-studio worker` processes (1 ONNX Runtime thread each) against a real redis-server started here,
// and, in the same rounds, the local engine (EngineClient, 1 thread, the same chunks of 8) — the difference
// per image is what the queue adds (hashing the files on both ends, Redis round trips, JSON, the answer).
// [Note: alternating rounds] Each round measures local, 1 worker and 2 workers in turn, so load from other
// processes on the shared machine hits all three alike; the ratio is pooled over rounds, with its per-round
// range. The producer is the CLI's (`caption --queue`): time runs from the batch's start to its last answer.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { EngineClient } from '../../engine/client'
import { readPackJson } from '../../engine/packs/pack'
import { captionOnFleet } from '../../fleet/cli-batch'
import { packIdentity } from '../../fleet/protocol'
import { engineWorkerPath } from '../../paths'
import { demoCopies } from './demo-copies'

const REDIS = '/usr/bin/redis-server'
const CHUNK = 8

export interface FleetBenchOptions {
  root: string
  packDir: string
  scratch: string
  images: number
  rounds: number
  log: (line: string) => void
}

export interface FleetBench {
  images: number
  rounds: number
  /** Images per second of each round. */
  local: number[]
  fleet1: number[]
  fleet2: number[]
}

/** A free loopback TCP port (for a redis-server of the bench or a test). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (a && typeof a === 'object' ? done(a.port) : fail(new Error('no free port'))))
    })
  })
}

/** Start `cmd` and resolve once a stderr/stdout line matches `ready`. */
function startUntil(cmd: string, args: string[], ready: RegExp, cwd: string): Promise<ChildProcess> {
  const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((done, fail) => {
    const seen: string[] = []
    const t = setTimeout(() => fail(new Error(`${cmd} did not start:\n${seen.join('\n')}`)), 60_000)
    for (const s of [p.stdout!, p.stderr!])
      createInterface({ input: s }).on('line', (l) => {
        seen.push(l)
        if (ready.test(l)) {
          clearTimeout(t)
          done(p)
        }
      })
    p.once('exit', (code) => {
      clearTimeout(t)
      fail(new Error(`${cmd} exited (${code}):\n${seen.join('\n')}`))
    })
  })
}

const stop = (p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') =>
  new Promise<void>((done) => {
    if (p.exitCode !== null || p.signalCode !== null) return done()
    p.once('exit', () => done())
    p.kill(signal)
  })

export async function benchFleet(o: FleetBenchOptions): Promise<FleetBench | { skip: string }> {
  if (!existsSync(REDIS)) return { skip: 'fleet: /usr/bin/redis-server is missing (apt-get install redis-server)' }
  const cli = join(o.root, 'out', 'main', 'cli.js')
  if (!existsSync(cli)) return { skip: 'fleet: out/main/cli.js is missing (npx electron-vite build)' }
  rmSync(o.scratch, { recursive: true, force: true })
  const dir = join(o.scratch, 'images')
  o.log(`fleet: preparing ${o.images} images`)
  const files = await demoCopies(o.packDir, dir, o.images)
  const pack = packIdentity(await readPackJson(o.packDir))
  const port = await freePort()
  const redisUrl = `redis://127.0.0.1:${port}`
  const redis = await startUntil(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/, o.scratch)
  const local = new EngineClient({ workerPath: engineWorkerPath(), intraOpThreads: 1 })
  const out: FleetBench = { images: o.images, rounds: o.rounds, local: [], fleet1: [], fleet2: [] }
  const worker = () => startUntil('node', [cli, 'worker', '--redis', redisUrl, '--roots', `${dir}=${dir}`, '--pack', o.packDir, '--threads', '1'], /^ready$/, o.root)
  const onFleet = async (): Promise<number> => {
    let answered = 0
    let failed = 0
    let last = 0
    const t0 = performance.now()
    await captionOnFleet({
      redis: redisUrl,
      pack,
      files,
      options: {},
      chunk: CHUNK,
      onAnswer(_i, a) {
        answered++
        if (!a.ok) failed++
        last = performance.now()
      }
    })
    if (answered !== files.length || failed > 0) throw new Error(`fleet bench: ${answered} answers, ${failed} failed, for ${files.length} images`)
    return files.length / ((last - t0) / 1000)
  }
  try {
    await local.call('open', { packDir: o.packDir, warm: true })
    for (let r = 0; r < o.rounds; r++) {
      const t = performance.now()
      for (let i = 0; i < files.length; i += CHUNK) await local.call('caption', { packDir: o.packDir, inputs: files.slice(i, i + CHUNK).map((file) => ({ file })), options: {} })
      out.local.push(files.length / ((performance.now() - t) / 1000))
      const w1 = await worker()
      try {
        out.fleet1.push(await onFleet())
        const w2 = await worker()
        try {
          out.fleet2.push(await onFleet())
        } finally {
          await stop(w2)
        }
      } finally {
        await stop(w1)
      }
      o.log(`fleet round ${r + 1}/${o.rounds}: local ${out.local[r]!.toFixed(1)}/s, 1 worker ${out.fleet1[r]!.toFixed(1)}/s, 2 workers ${out.fleet2[r]!.toFixed(1)}/s`)
    }
    return out
  } finally {
    await local.dispose()
    await stop(redis, 'SIGKILL')
    rmSync(o.scratch, { recursive: true, force: true })
  }
}

/** Pooled ratio of two per-round rate lists (total work over total time) and the per-round range. */
export function pooledRatio(a: readonly number[], b: readonly number[]): { ratio: number; low: number; high: number } {
  const time = (xs: readonly number[]) => xs.reduce((s, x) => s + 1 / x, 0)
  const per = a.map((x, i) => x / b[i]!)
  return { ratio: time(b) / time(a), low: Math.min(...per), high: Math.max(...per) }
}

/** The part's lines for the report's findings. */
export function fleetFindings(f: FleetBench, packLabel: string): string[] {
  const mean = (xs: readonly number[]) => xs.length / xs.reduce((s, x) => s + 1 / x, 0)
  const two = pooledRatio(f.fleet2, f.fleet1)
  const vsLocal = pooledRatio(f.fleet1, f.local)
  const overheadMs = 1000 / mean(f.fleet1) - 1000 / mean(f.local)
  const r = (x: number) => x.toFixed(2)
  return [
    `fleet, ${packLabel}, ${f.images} images × ${f.rounds} alternating rounds, 1 ONNX Runtime thread per engine, chunks of ${CHUNK}: 1 worker ${mean(f.fleet1).toFixed(1)} images/s, 2 workers ${mean(f.fleet2).toFixed(1)} images/s → 2 ÷ 1 workers ${r(two.ratio)}× (per round ${r(two.low)}–${r(two.high)})`,
    `fleet queue overhead: 1 worker ${mean(f.fleet1).toFixed(1)} images/s vs the local engine (1 thread, same chunks) ${mean(f.local).toFixed(1)} images/s in the same rounds → fleet ÷ local ${r(vsLocal.ratio)}× (per round ${r(vsLocal.low)}–${r(vsLocal.high)}), ${overheadMs >= 0 ? '+' : ''}${overheadMs.toFixed(1)} ms per image`
  ]
}
