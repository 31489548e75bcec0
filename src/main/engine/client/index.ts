// Host side (plain Node: Electron main, serve, CLI). The engine's client API: what hosts may import.
// [Note: engine fences] Nothing here loads onnxruntime-node or the pipeline: the worker side is reached only
// through the engine process (EngineClient) or, for in-process tests and eval, through ../worker/index.ts.
// Pack files (schema, verify, install, download) are process-free and imported from ../packs directly.
export { EngineClient, EngineCrashError, engineNiceness, type EngineCaller, type CallOptions, type EngineClientOptions } from './engine-client'
export { processTransport, threadTransport, stderrTail, type EngineTransport, type TransportFactory, type TransportEvents, type Isolation } from './transport'
export type { EngineHealth, SupervisionOptions } from './supervision'
export type { EngineApi, Method as EngineMethod, OpenOptions, ProgressInfo, FaultSpec } from './protocol'
export type { EngineStatus } from '../worker/engine'
export type { CaptionInput, CaptionResult, CaptionFailure, Candidate } from '../pipeline/caption'
export type { CaptionOptions, ResolvedOptions, RegionsMode, AlignMode } from '../pipeline/options'
export type { VqaRequest, VqaResult } from '../pipeline/vqa'
export type { FileCaptionPair, RegionSimilarity } from '../pipeline/analysis'
export type { GapAnalysis } from '../pipeline/gap'
export type { Realignment, AlignMethod, EmbeddingPair } from '../math/realign'
export type { Scores, RankBy } from '../math/scoring'
export type { Provider } from '../worker/sessions'
export type { ModelIo, TensorIo } from '../worker/inspect-models'
export type { EmbedCorpusArgs, EmbedCorpusResult } from '../worker/corpus-embed'
