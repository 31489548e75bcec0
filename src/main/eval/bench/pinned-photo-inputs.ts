// CLI bench / tests (plain Node, files only). The inputs assemblePhotoPack (models/photo-pack.ts) takes from a
// fetch, made from local files instead: a catalog entry pinning a CLIP export in the transformers.js hub
// layout (each file's size and sha256, read from disk), a COCO-captions corpus file with its entry, and a
// fresh builds folder. `npm run bench -- --only photo` (photo-bench.ts) and the photo-pack fallback test
// (test/integration/photo-pack-fallback.test.ts) build their packs from these, not from a hub download.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LoadedCatalogEntry } from '../../engine/packs/catalog'
import { buildPaths, type BuildPaths } from '../../models/pack-build-stages'

type Role = LoadedCatalogEntry['files'][number]['role']

/** The files a photo build takes from a hub-layout CLIP export (export_hub_clip.py --int8), by role. */
export const HUB_CLIP_FILES: readonly (readonly [path: string, role: Role])[] = [
  ['preprocessor_config.json', 'preprocessor'],
  ['tokenizer.json', 'tokenizer'],
  ['tokenizer_config.json', 'tokenizer-config'],
  ['onnx/vision_model_quantized.onnx', 'vision-model'],
  ['onnx/text_model_quantized.onnx', 'text-model']
]

export interface PinnedPhotoInputs {
  clip: LoadedCatalogEntry
  clipDir: string
  corpus: LoadedCatalogEntry
  corpusFile: string
  paths: BuildPaths
  vocabFile: string
}

/** Pin `clipDir`'s files as they are now (edit them first), write `annotations` to work/corpus.json and
 *  empty work/builds; `label` ('bench', 'test') names the entries. Spread into assemblePhotoPack's args
 *  with an engine and a signal. */
export function pinnedPhotoInputs(o: {
  root: string
  work: string
  clipDir: string
  label: string
  clipTitle: string
  annotations: readonly { image_id: number; id: number; caption: string }[]
}): PinnedPhotoInputs {
  const pin = ([path, role]: readonly [string, Role]) => {
    const buf = readFileSync(join(o.clipDir, path))
    return { path, bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex'), role }
  }
  const clip: LoadedCatalogEntry = {
    id: `${o.label}-clip`, kind: 'clip', title: o.clipTitle, licence: `MIT (${o.label} weights)`, enables: o.label, domain: 'photos', from: o.label,
    source: { hub: 'huggingface', repo: `${o.label}/clip`, revision: '0'.repeat(40) },
    files: HUB_CLIP_FILES.map(pin)
  }
  const corpusFile = join(o.work, 'corpus.json')
  writeFileSync(corpusFile, JSON.stringify({ annotations: o.annotations }))
  const corpus: LoadedCatalogEntry = {
    id: `${o.label}-corpus`, kind: 'corpus', title: `${o.label} captions`, licence: 'CC0-1.0', enables: o.label, format: 'coco-captions', from: o.label,
    source: { hub: 'url', url: 'http://localhost/' }, files: [{ path: 'corpus.json', bytes: null, sha256: '0'.repeat(64), role: 'corpus' }]
  }
  const builds = join(o.work, 'builds')
  rmSync(builds, { recursive: true, force: true })
  const paths = buildPaths(builds, 1)
  mkdirSync(paths.work, { recursive: true })
  return { clip, clipDir: o.clipDir, corpus, corpusFile, paths, vocabFile: join(o.root, 'models', 'vocab', 'photo-concepts.json') }
}
