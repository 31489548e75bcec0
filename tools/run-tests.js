#!/usr/bin/env node
// Test runner (Node): typecheck, lint, build, Python generator tests (when Debian's numpy/PIL exist),
// vitest (unit, integration, engine) and Playwright e2e. Prints one line per suite and, last, the total as
// `N passed, N failed` (the line CI reads). Exit code 1 when anything failed.
const { spawnSync } = require('node:child_process')
const { existsSync, readFileSync, rmSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')
const results = []

function run(cmd, args, opts = {}) {
  process.stderr.write(`\n$ ${cmd} ${args.join(' ')}\n`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } })
  if (opts.capture) process.stderr.write((r.stdout ?? '') + (r.stderr ?? ''))
  return r
}

function step(name, cmd, args) {
  const r = run(cmd, args)
  results.push({ name, passed: r.status === 0 ? 1 : 0, failed: r.status === 0 ? 0 : 1 })
}

// System prerequisites first (tools/prereqs.js): say what is missing, why, and the one apt-get line.
const { missing } = require('./prereqs')
const absent = missing()
if (absent.length) {
  process.stderr.write(`\nmissing test prerequisites:\n${absent.map((p) => `  ${p.pkg}: ${p.why}`).join('\n')}\ninstall them with:\n  apt-get install -y ${absent.map((p) => p.pkg).join(' ')}\n\n`)
  if (process.env.STUDIO_SKIP_PREREQS !== '1') {
    process.stdout.write('0 passed, 1 failed\n')
    process.exit(1)
  }
}

const only = process.argv.slice(2)
const want = (s) => only.length === 0 || only.includes(s)

if (want('typecheck')) step('typecheck', 'npm', ['run', '--silent', 'typecheck'])
if (want('lint')) step('lint', 'npx', ['eslint', '.'])
if (want('build')) step('build', 'npx', ['electron-vite', 'build'])

if (want('python')) {
  const py = '/usr/bin/python3'
  const probe = existsSync(py) ? spawnSync(py, ['-c', 'import numpy, PIL'], { encoding: 'utf8' }) : { status: 1 }
  if (!existsSync(join(root, 'tools/modelkit/tests'))) process.stderr.write('python modelkit tests: none yet (tools/modelkit/tests missing)\n')
  else if (probe.status === 0) {
    const r = run(py, ['-m', 'unittest', 'discover', '-s', 'tools/modelkit/tests', '-t', '.'], { capture: true })
    const text = (r.stdout ?? '') + (r.stderr ?? '')
    const ran = Number((/Ran (\d+) tests?/.exec(text) ?? [])[1] ?? 0)
    const fails = /FAILED \(([^)]*)\)/.exec(text)
    let failed = 0
    if (fails) for (const m of fails[1].matchAll(/(?:failures|errors)=(\d+)/g)) failed += Number(m[1])
    if (r.status !== 0 && failed === 0) failed = 1
    results.push({ name: 'python (modelkit)', passed: ran - Math.min(failed, ran), failed })
  } else {
    process.stderr.write('python modelkit tests skipped: /usr/bin/python3 with numpy and PIL not available\n')
  }
}

if (want('vitest')) {
  const report = join(root, 'test-results/vitest.json')
  rmSync(report, { force: true })
  const r = run('npx', ['vitest', 'run'])
  if (existsSync(report)) {
    const j = JSON.parse(readFileSync(report, 'utf8'))
    const failed = j.numFailedTests + (j.numFailedTestSuites > 0 && j.numFailedTests === 0 ? j.numFailedTestSuites : 0)
    results.push({ name: 'vitest', passed: j.numPassedTests, failed })
  } else results.push({ name: 'vitest', passed: 0, failed: r.status === 0 ? 0 : 1 })
}

if (want('e2e')) {
  const report = join(root, 'test-results/playwright.json')
  rmSync(report, { force: true })
  const r = run('npx', ['playwright', 'test'])
  if (existsSync(report)) {
    const s = JSON.parse(readFileSync(report, 'utf8')).stats
    results.push({ name: 'playwright', passed: s.expected + (s.flaky ?? 0), failed: s.unexpected + (r.status !== 0 && s.unexpected === 0 ? 1 : 0) })
  } else results.push({ name: 'playwright', passed: 0, failed: 1 })
}

let passed = 0
let failed = 0
process.stdout.write('\n')
for (const r of results) {
  passed += r.passed
  failed += r.failed
  process.stdout.write(`${r.name.padEnd(20)} ${r.passed} passed, ${r.failed} failed\n`)
}
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = failed > 0 ? 1 : 0
