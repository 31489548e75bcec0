// Serve host (plain Node) entry: `npm run serve -- [--port N] [--host H] [--data-dir DIR] [--add FOLDER] [--catalog FILE] [--test-ops]`.
// Prints the URL with its token; stops cleanly on SIGINT/SIGTERM.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { defaultDataDir } from '../services/data-dir'
import { createServices } from '../services/services'
import { startServer } from './server'

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      port: { type: 'string', default: process.env.STUDIO_PORT ?? '5178' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      token: { type: 'string' },
      add: { type: 'string', multiple: true },
      catalog: { type: 'string', multiple: true },
      // [Note: contract tiers] tests only: also answer internal operations (library.waitForScans, …)
      'test-ops': { type: 'boolean', default: false }
    },
    strict: true
  })
  const dataDir = values['data-dir'] ?? defaultDataDir()
  const services = createServices(dataDir, 'serve', { catalogFiles: values.catalog ?? [], testFaults: values['test-ops'] })
  const token = values.token ?? process.env.STUDIO_TOKEN
  const running = await startServer(services, { host: values.host, port: Number(values.port), testOps: values['test-ops'], ...(token ? { token } : {}) })
  for (const folder of values.add ?? []) await services.call('library.addRoot', { path: resolve(folder) })
  if (values.host !== '127.0.0.1' && values.host !== 'localhost') {
    process.stderr.write(`warning: bound to ${values.host}; anyone who can reach it still needs the token\n`)
  }
  process.stdout.write(`Caption Studio (serve mode) — data in ${dataDir}\nOpen: ${running.openUrl}\n`)
  const stop = () => {
    running.close().then(() => services.close()).finally(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((err: unknown) => {
  process.stderr.write(`serve failed: ${(err as Error).message}\n`)
  process.exit(1)
})
