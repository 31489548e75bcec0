// Build configuration (runs in Node at build time).
// [Note: one build, three hosts] The main build emits five plain-Node entries that share the same
// services: `index` (the Electron shell), `serve` (the studio over HTTP on 127.0.0.1), `cli` (batch work)
// `engine-worker` (inference off the main event loop, spawned by all three hosts) and `wal-checkpointer`
// (SQLite's WAL checkpoints on a thread of each host, store/checkpointer.ts).
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

const engineWorker = resolve(__dirname, 'src/main/engine/worker/entry.ts')
const shared = { '@shared': resolve(__dirname, 'src/shared') }

export default defineConfig({
  main: {
    resolve: { alias: shared },
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          index: resolve(__dirname, 'src/main/electron/main.ts'),
          serve: resolve(__dirname, 'src/main/serve/entry.ts'),
          cli: resolve(__dirname, 'src/main/cli/entry.ts'),
          ...(existsSync(engineWorker) ? { 'engine-worker': engineWorker } : {}),
          // [Note: checkpoints off the main thread] the WAL checkpoint thread of every host
          'wal-checkpointer': resolve(__dirname, 'src/main/store/checkpoint-thread.ts')
        }
      }
    }
  },
  preload: {
    resolve: { alias: shared },
    build: {
      outDir: 'out/preload',
      // The preload runs sandboxed, so it must be one self-contained CommonJS file.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    resolve: { alias: shared },
    plugins: [svelte()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rolldownOptions: { input: resolve(__dirname, 'src/renderer/index.html') }
    }
  }
})
