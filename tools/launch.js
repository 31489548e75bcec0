#!/usr/bin/env node
// `npm start` (Node): starts the Electron app when it can run here; otherwise says why and starts serve
// mode (the same studio in a browser, on 127.0.0.1 with a token) and prints its URL.
const { spawn, spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')

function electronProblem() {
  let bin
  try {
    bin = require('electron')
  } catch (err) {
    return `the Electron binary is not installed (${String(err.message).split('\n')[0]})`
  }
  if (typeof bin !== 'string' || !existsSync(bin)) return 'the Electron binary is not installed'
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return 'there is no display (DISPLAY/WAYLAND_DISPLAY unset)'
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20000 })
  if (probe.status !== 0) return `Electron does not start here (${(probe.stderr || probe.error?.message || 'unknown error').trim().split('\n')[0]})`
  return null
}

if (!existsSync(join(root, 'out/main/serve.js'))) {
  console.error('Building the studio first (npm run build)…')
  const b = spawnSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'inherit' })
  if (b.status !== 0) process.exit(b.status ?? 1)
}

const problem = electronProblem()
const args = process.argv.slice(2)
if (problem) {
  console.error(`Electron is not used: ${problem}.`)
  console.error('Starting serve mode instead: the same studio in your browser, on 127.0.0.1 with a token.')
  const child = spawn(process.execPath, [join(root, 'out/main/serve.js'), ...args], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 0))
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s))
} else {
  const child = spawn(require('electron'), [join(root, 'out/main/index.js'), ...args], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 0))
}
