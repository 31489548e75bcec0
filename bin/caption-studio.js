#!/usr/bin/env node
// The `caption-studio` command for global installs: the CLI (`caption-studio serve` starts serve mode).
const { join } = require('node:path')
if (process.argv[2] === 'serve') {
  process.argv.splice(2, 1)
  require(join(__dirname, '..', 'out', 'main', 'serve.js'))
} else {
  require(join(__dirname, '..', 'out', 'main', 'cli.js'))
}
