// Main process / serve / CLI (plain Node). The stages of a photo-pack build ([Note: staged jobs]); each
// checks its own work on disk first, so a resumed build redoes nothing finished: downloads are re-verified
// against their pins, the corpus embedding continues at its checkpoint (worker/corpus-embed.ts), and the
// datastore, concepts and pack.json are cheap to redo. Heavy work runs in the build's own engine worker.
import { copyFile, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { StudioError } from '@shared/errors'
import type { EngineCaller } from '../engine/client'
import type { LoadedCatalogEntry } from '../engine/packs/catalog'
import type { CatalogEntry } from '../engine/packs/catalog-schema'
import { sha256File } from '../engine/packs/verify'
import { assembleClip, roleFile } from './hub-assembly'

export interface BuildPaths {
  work: string
  stagePack: string
  corpus: string
}

export const buildPaths = (buildsDir: string, jobId: number): BuildPaths => {
  const work = join(buildsDir, `job-${jobId}`)
  return { work, stagePack: join(work, 'pack'), corpus: join(work, 'corpus') }
}

export interface FileEntry {
  path: string
  bytes: number
  sha256: string
}

/** Hard-link (same filesystem) or copy a verified download into the pack folder. */
async function place(src: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true })
  await rm(dest, { force: true })
  await link(src, dest).catch(() => copyFile(src, dest))
}

async function fileEntry(dir: string, path: string): Promise<FileEntry> {
  const full = join(dir, path)
  return { path, bytes: (await stat(full)).size, sha256: await sha256File(full) }
}

/** A pack id for a clip + corpus pair: `photo-<clip id>`. */
export const photoPackId = (clip: CatalogEntry): string => `photo-${clip.id}`.slice(0, 64)

/** The patch-route copy of the vision model in the pack (MacCap's tokens + attention outputs). */
export const PATCH_MODEL = 'onnx/vision_model_patch.onnx'

/** Stage pack: the CLIP towers + tokenizer as a valid pack (no datastore yet), for the build's engine.
 *  [Note: patch route] The vision model is rewritten by graph surgery (packs/graph-surgery.ts, in the build
 *  worker) so the pack can run MacCap's subregion aggregation; where the file's graph is not one the surgery
 *  understands, the pack keeps the stock model and the crops route, and pack.json says why. */
export async function writeStagePack(clip: LoadedCatalogEntry, clipDir: string, paths: BuildPaths, engine: EngineCaller) {
  const visionPath = roleFile(clip, 'vision-model')!
  const used = (['vision-model', 'text-model', 'tokenizer', 'tokenizer-config', 'preprocessor', 'config'] as const).map((r) => roleFile(clip, r)).filter((p): p is string => !!p)
  for (const p of used) await place(join(clipDir, p), join(paths.stagePack, p))
  const source = clip.source.hub === 'huggingface' ? `${clip.source.repo}@${clip.source.revision.slice(0, 12)}/${visionPath}` : `${clip.id}/${visionPath}`
  const patch = await engine.call('patchRoute', { visionFile: join(paths.stagePack, visionPath), outFile: join(paths.stagePack, PATCH_MODEL), sourceName: source })
  const imageFile = patch.ok ? PATCH_MODEL : visionPath
  const [vision, text] = await engine.call('inspectModels', { files: [join(paths.stagePack, imageFile), join(paths.stagePack, roleFile(clip, 'text-model')!)] })
  const part = await assembleClip(clip, paths.stagePack, { vision: { ...vision!, file: imageFile }, text: { ...text!, file: roleFile(clip, 'text-model')! } }, patch.ok ? { outputs: patch.outputs, patchGrid: patch.patchGrid } : undefined)
  const files: FileEntry[] = []
  for (const p of used) {
    if (p === visionPath && patch.ok) continue
    const f = clip.files.find((x) => x.path === p)!
    files.push({ path: p, bytes: (await stat(join(paths.stagePack, p))).size, sha256: f.sha256 })
  }
  if (patch.ok) {
    files.push({ path: PATCH_MODEL, bytes: patch.bytes, sha256: patch.sha256 })
    await rm(join(paths.stagePack, visionPath), { force: true })
  }
  const patchRoute = patch.ok ? { ok: true, file: PATCH_MODEL, provenance: patch.provenance, notes: patch.notes } : { ok: false, reason: patch.reason }
  const json = { format: 'caption-studio-pack/1', id: photoPackId(clip), version: '0.0.0-stage', embedDim: part.embedDim, preprocess: part.preprocess, tokenizer: part.tokenizer, models: part.models, decoders: [], files }
  await writeFile(join(paths.stagePack, 'pack.json'), JSON.stringify(json, null, 2))
  return { json, files, patchRoute }
}

interface VocabFile {
  templates: Record<string, string[]>
  concepts: { word: string; category: string }[]
}

/** Concept vocabulary: each word embedded with its category's prompt templates, averaged and normalised. */
export async function writeConcepts(vocabFile: string, paths: BuildPaths, engine: EngineCaller, dim: number, signal?: AbortSignal): Promise<{ rows: number; files: FileEntry[] }> {
  const vocab = JSON.parse(await readFile(vocabFile, 'utf8')) as VocabFile
  const rows = vocab.concepts.length
  const out = new Float32Array(rows * dim)
  const BATCH = 64
  for (let start = 0; start < rows; start += BATCH) {
    if (signal?.aborted) throw new StudioError('cancelled', 'pack build cancelled')
    const chunk = vocab.concepts.slice(start, start + BATCH)
    const texts = chunk.flatMap((c) => (vocab.templates[c.category] ?? ['a photo of {}.']).map((t) => t.replace('{}', c.word)))
    const embs = await engine.call('embedTexts', { packDir: paths.stagePack, texts })
    let k = 0
    chunk.forEach((c, i) => {
      const n = (vocab.templates[c.category] ?? ['a photo of {}.']).length
      const acc = new Float64Array(dim)
      for (let t = 0; t < n; t++) {
        const e = embs[k++]!
        for (let d = 0; d < dim; d++) acc[d]! += e[d]!
      }
      let norm = 0
      for (let d = 0; d < dim; d++) norm += acc[d]! * acc[d]!
      norm = Math.sqrt(norm) || 1
      for (let d = 0; d < dim; d++) out[(start + i) * dim + d] = acc[d]! / norm
    })
  }
  const buf = Buffer.alloc(out.length * 4)
  out.forEach((x, i) => buf.writeFloatLE(x, i * 4))
  await writeFile(join(paths.stagePack, 'concepts.f32'), buf)
  await writeFile(join(paths.stagePack, 'concepts.json'), JSON.stringify(vocab.concepts))
  return { rows, files: [await fileEntry(paths.stagePack, 'concepts.f32'), await fileEntry(paths.stagePack, 'concepts.json')] }
}
