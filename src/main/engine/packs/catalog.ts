// Any process (plain Node, no inference). Loading model catalogs and turning their entries into URLs.
// [Note: pinned catalog] The app ships models/catalog.json; a user adds their own (`--catalog FILE` on serve
// and the CLI, `STUDIO_CATALOG` in the environment, or a file picked in the model manager). Entries of a
// user catalog replace shipped entries with the same id, so a mirror or a newer pin is one file away.
// Hub files resolve as `{endpoint}/{repo}/resolve/{revision}/{path}`, endpoint `https://huggingface.co`
// unless `HF_ENDPOINT` names a mirror (the convention of huggingface_hub and transformers.js users).
import { readFile, stat } from 'node:fs/promises'
import * as v from 'valibot'
import { describeIssues } from '@shared/contract/define'
import { StudioError } from '@shared/errors'
import { Catalog, type CatalogEntry, type CatalogFile } from './catalog-schema'

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co'
const MAX_CATALOG_BYTES = 2_000_000

export interface LoadedCatalogEntry extends CatalogEntry {
  /** The catalog file the entry came from. */
  from: string
}

export async function readCatalogFile(path: string): Promise<Catalog> {
  const st = await stat(path).catch(() => null)
  if (!st || !st.isFile()) throw new StudioError('not_found', `catalog ${path}: no such file`)
  if (st.size > MAX_CATALOG_BYTES) throw new StudioError('invalid_input', `catalog ${path}: ${st.size} bytes is too large for a catalog (limit ${MAX_CATALOG_BYTES})`)
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new StudioError('invalid_input', `catalog ${path} is not valid JSON: ${(err as Error).message}`)
  }
  const parsed = v.safeParse(Catalog, json)
  if (!parsed.success) throw new StudioError('invalid_input', `catalog ${path} is invalid: ${describeIssues(parsed.issues)}`)
  return parsed.output
}

/** Shipped catalog first, then user catalogs in order; a later entry replaces an earlier one with its id. */
export async function loadCatalogs(paths: readonly string[]): Promise<{ entries: LoadedCatalogEntry[]; problems: { file: string; message: string }[] }> {
  const byId = new Map<string, LoadedCatalogEntry>()
  const problems: { file: string; message: string }[] = []
  for (const file of paths) {
    try {
      for (const e of (await readCatalogFile(file)).entries) byId.set(e.id, { ...e, from: file })
    } catch (err) {
      problems.push({ file, message: (err as Error).message })
    }
  }
  return { entries: [...byId.values()], problems }
}

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const e = (env.HF_ENDPOINT ?? '').trim()
  return (e || DEFAULT_HF_ENDPOINT).replace(/\/+$/, '')
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/')

/** Where a pinned file is downloaded from (for an archive source: the archive itself). */
export function fileUrl(entry: CatalogEntry, file: CatalogFile, env: NodeJS.ProcessEnv = process.env): string {
  const s = entry.source
  if (s.hub === 'huggingface') return `${hubEndpoint(env)}/${s.repo}/resolve/${s.revision}/${encodePath(file.path)}`
  if (s.archive) return s.url
  return new URL(encodePath(file.path), s.url.endsWith('/') ? s.url : `${s.url}/`).toString()
}

/** Bytes to download for an entry (an archive counts once, at its stated size), or null when unknown. */
export function downloadBytes(entry: CatalogEntry): number | null {
  if (entry.source.hub === 'url' && entry.source.archive) return entry.source.archive.approxBytes ?? null
  let sum = 0
  for (const f of entry.files) {
    if (f.bytes === null) return null
    sum += f.bytes
  }
  return sum
}

/** A stable folder name for an entry's downloads: files of one pin never mix with another pin's. */
export function downloadKey(entry: CatalogEntry): string {
  const s = entry.source
  const raw = s.hub === 'huggingface' ? `${s.repo}@${s.revision}` : `${entry.id}@${entry.files.map((f) => f.sha256.slice(0, 12)).join('-')}`
  return raw.replace(/[^A-Za-z0-9._@-]+/g, '_')
}
