// Any Node process (spawns /usr/bin/python3). Generates the demo pack's evaluation splits on demand with the
// model kit's ShapesWorld generator into a cache directory (never committed), and reuses them afterwards.
// [Note: cache] One folder per (split, seed, count, size): <cache>/shapesworld/<split>-seed<S>-n<N>-<size>px/
// holding the PNGs, scenes.json, refs.json and refs_coco.json. A `.complete` file is written last, so an
// interrupted generation is redone rather than half-used. The seed is the pack's world seed when its
// provenance names one (so the splits are the ones the model kit measured), else the generator's default 1.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SplitSource } from './run'

export const DEMO_SPLITS = ['test', 'test-heldout'] as const
export const SPLIT_SIZE = 1000

export interface DemoSplitOptions {
  root: string
  cacheDir: string
  seed: number
  size: number
  count?: number
  python?: string
  log?: (line: string) => void
}

/** The world seed recorded in pack.json provenance, if any (several spellings tried), else 1. */
export function worldSeed(provenance: unknown): number {
  const seeds = (provenance as { seeds?: Record<string, unknown> } | undefined)?.seeds
  if (seeds && typeof seeds === 'object') {
    for (const k of ['world', 'shapesworld', 'data', 'generator', 'splits']) {
      const v = seeds[k]
      if (typeof v === 'number' && Number.isInteger(v)) return v
    }
  }
  return 1
}

export function ensureDemoSplit(split: string, o: DemoSplitOptions): SplitSource {
  const count = o.count ?? SPLIT_SIZE
  const dir = join(o.cacheDir, 'shapesworld', `${split}-seed${o.seed}-n${count}-${o.size}px`)
  const done = join(dir, '.complete')
  const source = { name: split, imagesDir: dir, refsPath: join(dir, 'refs.json'), scenesPath: join(dir, 'scenes.json') }
  if (existsSync(done)) return source
  const script = join(o.root, 'tools', 'modelkit', 'shapesworld.py')
  if (!existsSync(script)) throw new Error(`cannot generate the ${split} split: ${script} is missing`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const args = [script, '--out', dir, '--split', split, '--size', String(o.size), '--count', String(count), '--seed', String(o.seed)]
  o.log?.(`generating ${split}: ${o.python ?? '/usr/bin/python3'} ${args.join(' ')}`)
  const t0 = performance.now()
  execFileSync(o.python ?? '/usr/bin/python3', args, { cwd: o.root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1' } })
  writeFileSync(done, JSON.stringify({ args, seconds: (performance.now() - t0) / 1000 }) + '\n')
  return source
}

export function readPackProvenance(packDir: string): unknown {
  try {
    return (JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8')) as { provenance?: unknown }).provenance
  } catch {
    return undefined
  }
}
