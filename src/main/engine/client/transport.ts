// Host side (plain Node: serve, CLI, worker fleet; Electron main brings its own, ../../electron/engine-process.ts).
// [Note: engine transports] How a host reaches its engine: one small interface over three carriers of the
// same protocol (protocol.ts). `process` (the default in plain Node) forks the built engine entry as a child
// Node process with 'advanced' IPC serialization (structured clone, so Float32Array results arrive as
// typed arrays): a native crash in ONNX Runtime (an abort, a segfault) ends that child only, and the
// supervisor (engine-client.ts) restarts it. `thread` keeps the old worker_thread (same address space: a
// native abort there still ends the host; kept for comparison in tests). Electron passes a factory over
// `utilityProcess`, Electron's documented home for native ML work. A transport reports exactly one `exit`
// with a human-readable reason; the child's last stderr lines are part of it (what ONNX Runtime printed
// before it aborted).
import { fork } from 'node:child_process'
import type { Readable } from 'node:stream'
import { Worker } from 'node:worker_threads'
import type { FromWorker, ToWorker } from './protocol'

export type Isolation = 'thread' | 'process' | 'utility'

export interface TransportEvents {
  message(m: FromWorker): void
  /** The engine is gone (crashed, killed, exited); called once. */
  exit(reason: string): void
}

export interface EngineTransport {
  readonly kind: Isolation
  /** OS process id of the engine (null for a thread, or before it spawned). */
  readonly pid: number | null
  send(m: ToWorker): void
  /** Keep the host's event loop alive for the engine (while calls are outstanding) or not (idle). */
  hold(on: boolean): void
  /** Stop now (SIGKILL, terminate): for a hung engine. `exit` follows. */
  kill(): void
}

export type TransportFactory = (entry: string, events: TransportEvents) => EngineTransport

const TAIL_CHARS = 600

/** Passes what a child writes through to the host's stderr (its stdout too: a CLI's stdout carries JSON
 *  lines, and nothing the engine prints belongs there) and keeps the last characters for an exit reason. */
export function stderrTail(...streams: (Readable | NodeJS.ReadableStream | null | undefined)[]): () => string {
  let tail = ''
  for (const stream of streams)
    stream?.on('data', (b: Buffer | string) => {
      process.stderr.write(b)
      tail = (tail + b.toString()).slice(-TAIL_CHARS)
    })
  return () => {
    const lines = tail.trim().split('\n').slice(-2).join(' / ').trim()
    return lines ? `: ${lines}` : ''
  }
}

export const threadTransport: TransportFactory = (entry, events) => {
  const w = new Worker(entry)
  let gone = false
  const exit = (reason: string) => {
    if (gone) return
    gone = true
    events.exit(reason)
  }
  w.on('message', (m: FromWorker) => events.message(m))
  w.on('error', (err) => exit(err.message))
  w.on('exit', (code) => exit(`exit code ${code}`))
  return {
    kind: 'thread',
    pid: null,
    send: (m) => w.postMessage(m),
    hold: (on) => (on ? w.ref() : w.unref()),
    kill: () => void w.terminate()
  }
}

export const processTransport: TransportFactory = (entry, events) => {
  // No inherited execArgv: an --inspect port or a test runner's loader flags do not belong to the engine.
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] })
  const tail = stderrTail(child.stdout, child.stderr)
  const pipes = [child.stdout, child.stderr] as (Readable & { ref?: () => void; unref?: () => void } | null)[]
  let gone = false
  const exit = (reason: string) => {
    if (gone) return
    gone = true
    events.exit(reason)
  }
  child.on('message', (m) => events.message(m as FromWorker))
  child.on('error', (err) => {
    // A failed spawn emits 'error' without 'exit'; a failed send while the child dies is followed by 'exit'.
    if (child.pid === undefined) exit(`could not start: ${err.message}`)
  })
  // 'close' waits for stderr to drain, so the tail includes what the child printed as it died.
  child.on('close', (code, signal) => exit(signal ? `signal ${signal}${tail()}` : `exit code ${code}${tail()}`))
  return {
    kind: 'process',
    get pid() {
      return child.pid ?? null
    },
    send: (m) => {
      if (child.connected) child.send(m, (err) => void err)
    },
    hold: (on) => {
      if (on) {
        child.ref()
        child.channel?.ref()
        for (const p of pipes) p?.ref?.()
      } else {
        child.unref()
        child.channel?.unref()
        for (const p of pipes) p?.unref?.()
      }
    },
    kill: () => void child.kill('SIGKILL')
  }
}
