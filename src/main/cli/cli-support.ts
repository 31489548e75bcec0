// CLI (plain Node). Helpers shared by the engine's CLI commands (caption, embed-captions, gap, vqa, models):
// walking folders for images, reading caption files in the formats the studio knows, on/off flags, and
// the engine client the CLI uses (the same worker as Electron and serve).
import { bundledPacksDir, engineWorkerPath } from '../paths'
import { defaultDataDir } from '../services/data-dir'
import { PackRegistry } from '../services/pack-registry'
import { existsSync } from 'node:fs'
import { opendir, readFile, stat } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { StudioError } from '@shared/errors'
import { EngineClient } from '../engine/client/engine-client'
import { isImageFile } from '../library/image-types'

/** Expand files and folders (recursively, name order, hidden entries skipped, non-images skipped: see
 *  library/image-types.ts) into files. A file named explicitly is passed on whatever its extension. */
export async function expandInputs(paths: readonly string[], onSkip?: (path: string, why: string) => void): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries: { name: string; dir: boolean; file: boolean }[] = []
    for await (const e of await opendir(dir)) entries.push({ name: e.name, dir: e.isDirectory(), file: e.isFile() })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const p = join(dir, e.name)
      if (e.dir) await walk(p)
      else if (e.file && isImageFile(e.name)) out.push(p)
    }
  }
  for (const p of paths) {
    const abs = resolve(p)
    const st = await stat(abs).catch(() => null)
    if (st?.isDirectory()) await walk(abs)
    else if (st?.isFile()) out.push(abs)
    else {
      // A missing file is still passed on, so it gets its own {file, error} line.
      if (!st) out.push(abs)
      else onSkip?.(abs, 'not a file or folder')
    }
  }
  return out
}

export function onOff(value: string | undefined, flag: string): boolean | undefined {
  if (value === undefined) return undefined
  if (value === 'on' || value === 'true' || value === '1') return true
  if (value === 'off' || value === 'false' || value === '0') return false
  throw new StudioError('invalid_input', `--${flag} must be on or off`)
}

export function num(value: string | undefined, flag: string, integer = false): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new StudioError('invalid_input', `--${flag} must be ${integer ? 'an integer' : 'a number'}`)
  return n
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new StudioError('invalid_input', `--${flag} must be one of ${allowed.join(', ')}`)
  return value as T
}

/** The pack folder: --pack, else models/shapes-demo under the working directory. */
export function packDirFrom(value: string | undefined): string {
  const dir = resolve(value ?? join('models', 'shapes-demo'))
  if (!existsSync(join(dir, 'pack.json'))) throw new StudioError('not_found', `no pack.json in ${dir} (pass --pack <dir>)`)
  return dir
}

/** --pack ID|DIR: a folder holding pack.json, or the id of a bundled or installed pack (default shapes-demo:
 *  models/shapes-demo under the working directory, else the bundled one). */
export async function resolvePackDir(value: string | undefined, dataDir = defaultDataDir()): Promise<string> {
  const dir = resolve(value ?? join('models', 'shapes-demo'))
  if (existsSync(join(dir, 'pack.json'))) return dir
  const id = value ?? 'shapes-demo'
  if (id.includes('/') || id.includes('\\')) throw new StudioError('not_found', `no pack.json in ${dir} (pass --pack <dir> or a pack id)`)
  const registry = new PackRegistry({ dataDir, bundledDir: bundledPacksDir(), open: () => Promise.reject(new StudioError('internal', 'not opened here')) })
  return registry.dirOf(id)
}

export function cliEngine(): EngineClient {
  return new EngineClient({ workerPath: engineWorkerPath(), intraOpThreads: 2 })
}

/**
 * Caption files: `.txt` (one caption per line), `.jsonl` (objects with `caption` or `text`), `.json` (an array of
 * strings, a `{file_name: [captions]}` map, or COCO captions with `annotations[].caption`). Returns pairs of
 * (image file or null, caption); image files are resolved against `imagesDir` (default: the file's folder).
 */
export async function readCaptionFile(path: string, imagesDir?: string): Promise<{ file: string | null; caption: string }[]> {
  const text = await readFile(path, 'utf8')
  const base = resolve(imagesDir ?? dirname(path))
  const ext = extname(path).toLowerCase()
  if (ext === '.txt') return text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean).map((caption) => ({ file: null, caption }))
  if (ext === '.jsonl') {
    return text
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l, i) => {
        const o = JSON.parse(l) as { caption?: unknown; text?: unknown; file_name?: unknown }
        const caption = typeof o.caption === 'string' ? o.caption : typeof o.text === 'string' ? o.text : null
        if (caption === null) throw new StudioError('invalid_input', `${basename(path)} line ${i + 1}: no "caption" or "text"`)
        return { file: typeof o.file_name === 'string' ? join(base, o.file_name) : null, caption }
      })
  }
  const json = JSON.parse(text) as unknown
  if (Array.isArray(json)) return json.filter((x): x is string => typeof x === 'string').map((caption) => ({ file: null, caption }))
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>
    if (Array.isArray(o.annotations) && Array.isArray(o.images)) {
      const names = new Map((o.images as { id: number; file_name: string }[]).map((im) => [im.id, im.file_name]))
      return (o.annotations as { image_id: number; caption: string }[]).map((a) => ({ file: names.has(a.image_id) ? join(base, names.get(a.image_id)!) : null, caption: a.caption }))
    }
    return Object.entries(o).flatMap(([name, caps]) => (Array.isArray(caps) ? caps.filter((c): c is string => typeof c === 'string').map((caption) => ({ file: join(base, name), caption })) : []))
  }
  throw new StudioError('invalid_input', `${basename(path)}: unrecognised caption file`)
}
