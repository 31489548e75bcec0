#!/usr/bin/env node
// Dev tool (plain Node): runs the Electronegativity CLI (@doyensec/electronegativity 1.10.3, the Electron
// security audit; `npm run audit:electron`, and test/integration/electronegativity.test.ts in CI).
// [Note: electronegativity commander] Electronegativity 1.10.3 does not declare commander and reads its
// options as properties of commander's program object (commander ≤ 6); the commander hoisted in this tree
// is 7, which keeps them in `.opts()`, so the bare CLI sees no `--input`, prints its help and exits 1.
// `storeOptionsAsProperties()` turns the old behaviour back on; nothing else is changed.
// Without `-e` the tool guesses the Electron version from the scanned folder's package.json and, finding none
// in src/ or out/, assumes v0.1.0 (and reports checks long obsolete): default it to the installed Electron.
if (!process.argv.some((a) => a === '-e' || a.startsWith('--electron-version'))) process.argv.push('-e', require('electron/package.json').version)
require('commander').storeOptionsAsProperties()
// [Note: electronegativity csv] With `-o x.csv` the tool writes the header (flag 'w') and then the rows (flag
// 'a') as two fs.writeFile calls it does not wait for, so the truncating header write can land after the rows
// and drop them. Writes to one path are queued here, in the order they were asked for.
const fs = require('node:fs')
const writeFile = fs.writeFile
const queue = new Map()
fs.writeFile = function (path, data, opts, cb) {
  if (typeof opts === 'function') [opts, cb] = [{}, opts]
  const key = String(path)
  const prev = queue.get(key) ?? Promise.resolve()
  const next = prev.then(() => new Promise((done) => writeFile.call(fs, path, data, opts, (err) => (done(), cb?.(err)))))
  queue.set(key, next)
}
require('@doyensec/electronegativity/dist/index.js')
