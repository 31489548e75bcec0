#!/usr/bin/env node
// Test prerequisites (Node): the Debian packages the test suite drives for real, each with a check and the
// reason it is needed. `npm test` (tools/run-tests.js) checks them first and, where one is missing, prints
// the one apt-get line that installs them; `.ci/run` installs exactly `node tools/prereqs.js --missing`.
const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')

const PY = '/usr/bin/python3'
const py = (mod) => () => existsSync(PY) && spawnSync(PY, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0
const bin = (path) => () => existsSync(path)

const PREREQS = [
  { pkg: 'chromium', ok: bin('/usr/bin/chromium'), why: 'Playwright e2e drives /usr/bin/chromium (no browser download)' },
  { pkg: 'python3-numpy', ok: py('numpy'), why: 'model kit tests and exports' },
  { pkg: 'python3-pil', ok: py('PIL'), why: 'model kit tests (ShapesWorld renders)' },
  { pkg: 'python3-torch', ok: py('torch'), why: 'random-weight CLIP exports for the photo-pack and graph-surgery tests' },
  { pkg: 'python3-onnx', ok: py('onnx'), why: 'ONNX export and checking in the model kit' },
  { pkg: 'python3-regex', ok: py('regex'), why: 'the openai/CLIP reference tokenizer comparison' },
  { pkg: 'python3-skimage', ok: bin('/usr/lib/python3/dist-packages/skimage/data/astronaut.png'), why: "its sample photos are the real photos of the tests" },
  { pkg: 'redis-server', ok: bin('/usr/bin/redis-server'), why: 'the worker-fleet tests run a real Redis (BullMQ) started by the tests' },
  { pkg: 'libimage-exiftool-perl', ok: bin('/usr/bin/exiftool'), why: 'ExifTool reads and writes metadata independently in the interop tests' }
]

function missing() {
  return PREREQS.filter((p) => !p.ok())
}

if (require.main === module) {
  const m = missing()
  if (process.argv.includes('--missing')) process.stdout.write(m.map((p) => p.pkg).join(' ') + '\n')
  else if (m.length) {
    process.stderr.write(`missing test prerequisites:\n${m.map((p) => `  ${p.pkg}: ${p.why}`).join('\n')}\ninstall them with:\n  apt-get install -y ${m.map((p) => p.pkg).join(' ')}\n`)
    process.exitCode = 1
  }
}

module.exports = { PREREQS, missing }
