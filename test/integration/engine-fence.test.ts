// [Note: engine fences] Loading the built Electron main entry must not load onnxruntime-node: inference
// loads only in the engine worker. The entry runs in a child Node process with a stand-in `electron` module
// (every property a callable no-op; `app.whenReady()` never resolves, so no window opens), then reports
// which modules it loaded. The control case loads the worker's host chunk the same way and must see it.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const out = join(__dirname, '..', '..', 'out', 'main')

const harness = `
const Module = require('node:module')
const inert = () => new Proxy(function () {}, {
  get: (_t, k) => (k === 'whenReady' ? () => new Promise(() => {}) : k === 'then' ? undefined : inert()),
  apply: () => inert(),
  construct: () => inert()
})
const load = Module._load
Module._load = function (request, parent, isMain) {
  if (request === 'electron') return inert()
  return load.call(this, request, parent, isMain)
}
require(process.argv[1])
setTimeout(() => {
  const loaded = Object.keys(require.cache)
  process.stdout.write(JSON.stringify({ ort: loaded.filter((p) => p.includes('onnxruntime-node')).length, count: loaded.length }))
  process.exit(0)
}, 300)
`

function loadedBy(entry: string): { ort: number; count: number } {
  const r = spawnSync(process.execPath, ['-e', harness, entry], { encoding: 'utf8', env: { ...process.env, STUDIO_DATA_DIR: join(out, '..', '..', 'test-results', 'fence-data') } })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as { ort: number; count: number }
}

describe('engine fence', () => {
  it('the Electron main entry loads no onnxruntime-node', () => {
    expect(existsSync(join(out, 'index.js')), 'run npm run build first').toBe(true)
    const main = loadedBy(join(out, 'index.js'))
    expect(main.count).toBeGreaterThan(5)
    expect(main.ort).toBe(0)
  })

  it('the detection sees onnxruntime-node where the worker side is loaded (control)', () => {
    const host = readdirSync(join(out, 'chunks')).find((f) => /^host-.*\.js$/.test(f))
    expect(host, 'the worker host chunk').toBeTruthy()
    expect(loadedBy(join(out, 'chunks', host!)).ort).toBeGreaterThan(0)
  })
})
