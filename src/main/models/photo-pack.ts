// Main process / serve / CLI (plain Node). Assembling a photo pack from fetched files ([Note: staged jobs]
// stages 3–6 of a build): the stage pack (with MacCap's patch route), the embedded corpus, the concept
// vocabulary, the compact datastore and the final pack.json with provenance. The pack builder runs it inside
// its job; `npm run bench -- --only photo` runs the same function to measure it. Heavy work goes through
// `engine` (the build's worker, or an in-process engine in the bench).
import { StudioError } from '@shared/errors'
import type { EngineCaller } from '../engine/client'
import type { LoadedCatalogEntry } from '../engine/packs/catalog'
import { writeConcepts, writeStagePack, type BuildPaths, type FileEntry } from './pack-build-stages'

export type StageProgress = (done: number, total: number, current?: string) => void

export interface PhotoPackArgs {
  clip: LoadedCatalogEntry
  clipDir: string
  corpus: LoadedCatalogEntry
  corpusFile: string
  paths: BuildPaths
  engine: EngineCaller
  vocabFile: string
  maxCaptions?: number
  signal: AbortSignal
}

/** Writes everything into `paths.stagePack` and returns the pack.json to write there. */
export async function assemblePhotoPack(a: PhotoPackArgs, progress: { embed: StageProgress; concepts: StageProgress; datastore: StageProgress; install: StageProgress }) {
  const { clip, clipDir, corpus, corpusFile, paths, engine, signal } = a
  const stage = await writeStagePack(clip, clipDir, paths, engine)
  const s2 = progress.embed
  s2(0, 0, 'Reading the caption corpus')
  const embedded = await engine.call(
    'embedCorpus',
    { packDir: paths.stagePack, corpusFile, format: 'coco-captions', outDir: paths.corpus, ...(a.maxCaptions ? { maxCaptions: a.maxCaptions } : {}), batch: 64 },
    { signal, onProgress: (p) => s2(p.done, p.total, `Embedding captions with the text encoder`) }
  )
  const s3 = progress.concepts
  s3(0, 1, 'Embedding the concept vocabulary')
  const concepts = await writeConcepts(a.vocabFile, paths, engine, stage.json.embedDim, signal)
  s3(1, 1)
  const s4 = progress.datastore
  s4(0, 1, 'Writing the caption datastore')
  const ds = await engine.call(
    'writeDatastore',
    { corpusDir: paths.corpus, outDir: paths.stagePack, dim: stage.json.embedDim, source: { name: corpus.title, licence: corpus.licence, ...(corpus.attribution ? { attribution: corpus.attribution } : {}), ...(corpus.homepage ? { url: corpus.homepage } : {}) } },
    { signal, onProgress: (p) => s4(p.done, p.total, 'Building the retrieval index') }
  )
  if (signal.aborted) throw new StudioError('cancelled', 'pack build cancelled')
  const s5 = progress.install
  s5(0, 1, 'Verifying and installing the pack')
  const pack = {
    ...stage.json,
    version: `1.0.0+${corpus.id}.${ds.rows}`,
    licence: `${clip.licence}; captions: ${corpus.licence}`,
    description: `${clip.title} with ${ds.rows.toLocaleString('en')} captions from ${corpus.title}, assembled on this machine. Captions by retrieval (no trained decoder), concepts, VQA and ${stage.patchRoute.ok ? 'patch (MacCap) heatmaps' : 'crop heatmaps'}.`,
    domain: clip.domain ?? 'photos',
    datastore: ds.datastore,
    concepts: { file: 'concepts.json' },
    arrays: { concepts: { file: 'concepts.f32', shape: [concepts.rows, stage.json.embedDim] } },
    defaults: { regions: stage.patchRoute.ok ? 'patch' : 'crops', retrieval: true, retrievalK: 8, align: 'off', rankBy: 'clipS', conceptTopK: 6 },
    files: [...stage.files, ...concepts.files, ...ds.files] satisfies FileEntry[],
    provenance: {
      builtBy: 'caption-studio pack builder',
      builtAt: new Date().toISOString(),
      sources: [clip, corpus].map((e) => ({ id: e.id, title: e.title, source: e.source, licence: e.licence, caveat: e.caveat ?? null, files: e.files.map((f) => ({ path: f.path, sha256: f.sha256 })), catalog: e.from })),
      corpus: { read: embedded.read, duplicates: embedded.duplicates + ds.duplicates, rows: ds.rows, maxCaptions: a.maxCaptions ?? null, indexSeconds: ds.indexSeconds },
      concepts: { rows: concepts.rows, vocabulary: 'models/vocab/photo-concepts.json' },
      patchRoute: stage.patchRoute
    }
  }
  return pack
}
