// CLI bench (plain Node). [Note: stall windows] Where a main-loop stall came from: with STUDIO_STALL_LOG=FILE
// every stall a bench timer sees (lateness over 20 ms) is appended to FILE as one JSON line with its window
// on the monotonic clock in microseconds (the clock a V8 .cpuprofile's sample times use) and a label.
// `node tools/stall-profile.js FILE PROFILE.cpuprofile` then lists the functions the main thread ran inside
// each window. Off unless the variable is set: nothing is written in a normal bench run.
import { appendFileSync } from 'node:fs'

const file = process.env.STUDIO_STALL_LOG

/** Note a stall that ended now and lasted `lateMs` beyond the timer's period. */
export function logStall(label: string, lateMs: number, periodMs: number): void {
  if (!file || lateMs < 20) return
  const endUs = Number(process.hrtime.bigint() / 1000n)
  const startUs = endUs - Math.round((lateMs + periodMs) * 1000)
  appendFileSync(file, JSON.stringify({ label, lateMs: Math.round(lateMs * 10) / 10, startUs, endUs }) + '\n')
}
