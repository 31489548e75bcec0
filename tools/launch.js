#!/usr/bin/env node
// `npm start` (Node): starts the Electron app when it can run here; otherwise says why and starts serve
// mode (the same studio in a browser, on 127.0.0.1 with a token) and prints its URL.
const { spawn, spawnSync } = require('node:child_process')
const { existsSync, readFileSync } = require('node:fs')
const { dirname, join } = require('node:path')

const root = join(__dirname, '..')

/** True when the electron package has its binary on disk (requiring it otherwise starts a download). */
function electronDownloaded() {
  try {
    const dir = dirname(require.resolve('electron/package.json'))
    const rel = readFileSync(join(dir, 'path.txt'), 'utf8')
    return existsSync(join(dir, 'dist', rel))
  } catch {
    return false
  }
}

function electronProblem() {
  if (process.env.STUDIO_NO_ELECTRON) return 'STUDIO_NO_ELECTRON is set'
  if (!electronDownloaded()) {
    console.error('The Electron binary is not downloaded yet; fetching it once (set STUDIO_NO_ELECTRON=1 to skip)…')
    const dir = dirname(require.resolve('electron/package.json'))
    const r = spawnSync(process.execPath, [join(dir, 'install.js')], { encoding: 'utf8', timeout: 300000 })
    if (r.status !== 0) {
      const lines = `${r.stderr || ''}\n${r.stdout || ''}\n${r.error ? r.error.message : ''}`.split('\n').map((l) => l.trim())
      const why = lines.find((l) => /error|failed|ENOTFOUND|EAI_AGAIN|ECONN/i.test(l) && !l.startsWith('at ')) || 'no network access'
      return `the Electron binary could not be downloaded (${why})`
    }
  }
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
