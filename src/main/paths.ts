// Main process / serve / CLI / engine worker (plain Node). Where the app's own files are.
// [Note: app root] Bundling splits code into out/main/*.js and out/main/chunks/*.js, so `__dirname` differs
// between files; every path to a shipped file is derived from the app root instead: the nearest folder
// above this file that holds package.json (the repository, or app.asar when packaged).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

let cached: string | null = null

export function appRoot(): string {
  if (cached) return cached
  let dir = __dirname
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (cached = dir)
    const up = dirname(dir)
    if (up === dir) return (cached = process.cwd())
    dir = up
  }
}

export const rendererDir = (): string => join(appRoot(), 'out', 'renderer')
export const preloadPath = (): string => join(appRoot(), 'out', 'preload', 'index.cjs')
export const engineWorkerPath = (): string => join(appRoot(), 'out', 'main', 'engine-worker.js')
export const bundledPacksDir = (): string => join(appRoot(), 'models')
export const shippedCatalogPath = (): string => join(appRoot(), 'models', 'catalog.json')
export const photoVocabularyPath = (): string => join(appRoot(), 'models', 'vocab', 'photo-concepts.json')
