#!/usr/bin/env node
// `npm run rebuild:electron` (Node). [Note: native ABI] Builds better-sqlite3 for Electron's ABI into
// build/electron/better_sqlite3.node WITHOUT touching the Node build in node_modules (serve, CLI and tests
// keep working); the Electron shell passes that file as better-sqlite3's `nativeBinding` (store/db.ts).
// Needs Electron's headers (downloaded by node-gyp from electronjs.org) — not possible on offline machines.
const { cpSync, mkdirSync, mkdtempSync, copyFileSync, existsSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const { join, dirname } = require('node:path')
const { tmpdir } = require('node:os')

const root = join(__dirname, '..')
const electronVersion = require(join(root, 'node_modules/electron/package.json')).version
const src = dirname(require.resolve('better-sqlite3/package.json'))
const work = mkdtempSync(join(tmpdir(), 'sqlite-electron-'))
cpSync(src, work, { recursive: true, filter: (p) => !p.includes(`${src}/build`) })
console.error(`building better-sqlite3 for Electron ${electronVersion} in ${work}`)
const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root, dirname(process.execPath)] })
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers', `--arch=${process.arch}`], { cwd: work, stdio: 'inherit' })
if (r.status !== 0) {
  console.error('rebuild failed (Electron headers need network access); serve mode and the CLI are unaffected')
  process.exit(r.status ?? 1)
}
const built = join(work, 'build', 'Release', 'better_sqlite3.node')
if (!existsSync(built)) process.exit(1)
mkdirSync(join(root, 'build', 'electron'), { recursive: true })
copyFileSync(built, join(root, 'build', 'electron', 'better_sqlite3.node'))
console.error('wrote build/electron/better_sqlite3.node')
