#!/usr/bin/env node
// Developer tool (Node). [Note: stall windows] What the main thread ran during each main-loop stall a bench
// saw: reads the JSON lines STUDIO_STALL_LOG wrote (src/main/eval/bench/stall-log.ts) and the main thread's
// .cpuprofile of the same run (node --cpu-prof --cpu-prof-interval 500 out/main/cli.js bench …), and prints,
// per stall, longest first, the functions with the most samples inside its window: by self time and by
// inclusive time (any frame on the stack), so both "what burned the time" and "who called it" show.
//   STUDIO_STALL_LOG=/tmp/stalls.jsonl node --cpu-prof --cpu-prof-dir /tmp/prof out/main/cli.js bench --only batch --out /tmp/b/bench.md
//   node tools/stall-profile.js /tmp/stalls.jsonl /tmp/prof/CPU.*.cpuprofile [--top 10] [--min 40]
const { readFileSync } = require('node:fs')

function parseArgs(argv) {
  const o = { top: 10, min: 40, files: [] }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') o.top = Number(argv[++i])
    else if (argv[i] === '--min') o.min = Number(argv[++i])
    else o.files.push(argv[i])
  }
  if (o.files.length !== 2) {
    process.stderr.write('usage: stall-profile.js STALLS.jsonl MAIN.cpuprofile [--top N] [--min MS]\n')
    process.exit(2)
  }
  return o
}

function main() {
  const o = parseArgs(process.argv.slice(2))
  const stalls = readFileSync(o.files[0], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const p = JSON.parse(readFileSync(o.files[1], 'utf8'))
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`
  let t = p.startTime
  const times = p.timeDeltas.map((d) => (t += d))
  const inWindow = (s) => {
    const out = []
    for (let i = 0; i < times.length; i++) if (times[i] >= s.startUs && times[i] <= s.endUs) out.push(p.samples[i])
    return out
  }
  const shown = stalls.filter((s) => s.lateMs >= o.min && s.endUs >= p.startTime && s.startUs <= p.endTime).sort((a, b) => b.lateMs - a.lateMs)
  for (const s of shown.slice(0, o.top)) {
    const samples = inWindow(s)
    const self = new Map()
    const incl = new Map()
    for (const id of samples) {
      const l = label(byId.get(id))
      self.set(l, (self.get(l) ?? 0) + 1)
      const seen = new Set()
      for (let x = id; x !== undefined; x = parent.get(x)) {
        const lx = label(byId.get(x))
        if (seen.has(lx)) continue
        seen.add(lx)
        incl.set(lx, (incl.get(lx) ?? 0) + 1)
      }
    }
    const pct = (c) => `${Math.round((100 * c) / Math.max(1, samples.length))}%`
    const top = (m, n, keep) => [...m].filter(keep).sort((a, b) => b[1] - a[1]).slice(0, n).map(([l, c]) => `${l} ${pct(c)}`).join(' | ')
    console.log(`\n== ${s.label}: ${s.lateMs} ms late, at ${((s.startUs - p.startTime) / 1e6).toFixed(2)} s of the profile (${samples.length} samples)`)
    console.log(`  self: ${top(self, 6, () => true)}`)
    console.log(`  incl: ${top(incl, 10, ([l, c]) => c < samples.length && !l.startsWith('(root)'))}`)
  }
  console.log(`\n${shown.length} stalls ≥ ${o.min} ms inside the profile (of ${stalls.length} logged)`)
}

main()
