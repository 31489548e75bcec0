// Engine worker side, in-process API (engine worker thread, or in-process tests/eval that ask for it; loads
// onnxruntime-node). Hosts never import this: they use ../client (see [Note: engine fences] in eslint.config.mjs).
//
// [Note: engine API] Two ways to use the caption engine:
//
// 1. Through the worker (what Electron main, serve and the CLI do: inference stays off the event loop):
//      const client = new EngineClient({ workerPath: join(__dirname, 'engine-worker.js') })
//      const status = await client.call('open', { packDir, options: { verifyCacheFile } })   // verifies sha256
//      const results = await client.call('caption', { packDir, inputs: [{ file }], options: { seed: 1 } },
//                                        { signal, onProgress: ({ done, total }) => … })
//      await client.dispose()
//
// 2. In-process (tests, eval code such as src/main/eval): the same calls on `InProcessEngineClient`, or the
//    pipeline functions directly:
//      const engine = await Engine.open('models/shapes-demo')
//      const out = await captionFiles(engine, files.map((file) => ({ file })), { regions: 'off', noiseSamples: 1 })
//      for (const r of out) if ('error' in r) … else r.caption, r.candidates[i].scores.clipS, r.timings
//      await engine.close()
//    Baselines for evaluation are just options: plain decode = { regions: 'off', noiseSamples: 0,
//    cleanSample: true, retrieval: false, rerank: false, align: 'off' }; nearest-caption retrieval =
//    { noiseSamples: 0, cleanSample: false, retrieval: true, retrievalK: 1, align: 'off' } (or any align).
//    `CaptionOptions` (options.ts) lists every knob; unset ones take the pack's `defaults`.
//
// Results are plain data: `CaptionResult` { file, caption, candidates: Candidate[] (ranked; each with text,
// source, score, scores {cos, clipS, aclipS?, refClipS?, refAclipS?, quality} and provenance), concepts,
// regions (heatmap + per-region similarity to the pick), timings (ms per stage), options (resolved) } or
// `CaptionFailure` { file, error: { code, message } } for a file that could not be captioned.
// Other entry points: `answerQuestion` (VQA), `gapForPairs` / `analyzeGap` (modality gap),
// `regionSimilarityFor`, `fitRealignment` (pure, from embeddings) / `fitFromPairs` (from files + captions),
// `installPack`, `downloadFile`, `loadPack`, `readPackJson`.
export { Engine, type EngineOptions, type EngineStatus } from './engine'
export { InProcessEngineClient } from './in-process-client'
export type { EngineCaller, CallOptions } from '../client/engine-client'
export { captionFiles, type CaptionInput, type CaptionResult, type CaptionFailure, type Candidate } from '../pipeline/caption'
export { resolveOptions, DEFAULT_SEED, type CaptionOptions, type ResolvedOptions, type RegionsMode, type AlignMode } from '../pipeline/options'
export { answerQuestion, questionType, type VqaRequest, type VqaResult, type QuestionType } from '../pipeline/vqa'
export { gapForPairs, fitFromPairs, regionSimilarityFor, scoreCaptionsFor, embedPairs, type FileCaptionPair, type RegionSimilarity } from '../pipeline/analysis'
export { analyzeGap, type GapAnalysis } from '../pipeline/gap'
export { fitRealignment, applyRealignment, type Realignment, type AlignMethod, type EmbeddingPair } from '../math/realign'
export { clipS, harmonic, qualityWeight, scoreText, type Scores, type RankBy } from '../math/scoring'
export { salientConcepts, mixupRegions, type SalientConcept } from '../pipeline/concepts'
export { installPack, isUrl, sweepStaging, type InstallProgress, type InstallResult } from '../packs/install'
export { downloadFile, type DownloadProgress } from '../packs/download'
export { loadPack, readPackJson, type LoadedPack } from '../packs/pack'
export { VerifyCache, verifyFiles, sha256File } from '../packs/verify'
export { PackJson, type PackJson as PackJsonType } from '../packs/pack-schema'
export { PROVIDER_ORDER, type Provider } from './sessions'
export type { EngineApi, Method as EngineMethod, OpenOptions, ProgressInfo } from '../client/protocol'
