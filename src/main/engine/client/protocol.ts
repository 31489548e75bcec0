// Shared by the engine process and its hosts (plain Node). [Note: engine protocol] Messages are
// structured-clone-safe plain objects (Float32Array allowed), discriminated by `type` and correlated by
// `id`. A request names an API method and its args; the engine answers with exactly one `result` or
// `error` for that id, possibly preceded by `progress` messages. `cancel` aborts the request `target`,
// queued or running; its answer is then an error with code `cancelled`. The first message of every engine
// process is `init` (its options), answered by `ready` once the engine's modules are loaded; `fault` arms test-only fault injection ([Note: engine faults]). The same
// messages travel over every transport (transport.ts): a worker port, child_process IPC ('advanced'
// serialization, so typed arrays survive) or an Electron utilityProcess port.
import type { ErrorEnvelope } from '@shared/errors'
import type { FileCaptionPair, RegionSimilarity } from '../pipeline/analysis'
import type { CaptionFailure, CaptionInput, CaptionResult } from '../pipeline/caption'
import type { EngineStatus } from '../worker/engine'
import type { GapAnalysis } from '../pipeline/gap'
import type { AlignMode, CaptionOptions, RegionsMode } from '../pipeline/options'
import type { Scores } from '../math/scoring'
import type { AlignMethod, Realignment } from '../math/realign'
import type { Provider } from '../worker/sessions'
import type { VqaRequest, VqaResult } from '../pipeline/vqa'
import type { EmbedCorpusArgs, EmbedCorpusResult } from '../worker/corpus-embed'
import type { ModelIo } from '../worker/inspect-models'
import type { WriteDatastoreArgs, WriteDatastoreResult } from '../worker/datastore-write'
import type { PatchRoute as PatchRouteResult } from '../packs/graph-surgery'

export interface OpenOptions {
  providers?: Provider[]
  intraOpThreads?: number
  verifyCacheFile?: string
  limitInputPixels?: number
}

type Skipped = { skipped: { file: string; error: ErrorEnvelope }[] }

export interface EngineApi {
  open: { args: { packDir: string; options?: OpenOptions; warm?: boolean }; result: EngineStatus }
  status: { args: { packDir: string }; result: EngineStatus }
  caption: { args: { packDir: string; inputs: CaptionInput[]; options?: CaptionOptions }; result: (CaptionResult | CaptionFailure)[] }
  embedImages: { args: { packDir: string; files: string[] }; result: ({ file: string; embedding: Float32Array } | { file: string; error: ErrorEnvelope })[] }
  embedTexts: { args: { packDir: string; texts: string[] }; result: Float32Array[] }
  vqa: { args: { packDir: string; file: string; request: VqaRequest }; result: VqaResult }
  gap: { args: { packDir: string; pairs: FileCaptionPair[]; fractions?: number[] }; result: GapAnalysis & Skipped }
  regionSimilarity: { args: { packDir: string; file: string; captions: string[]; mode: Exclude<RegionsMode, 'off'>; mixup?: boolean }; result: RegionSimilarity }
  score: { args: { packDir: string; file: string; captions: string[]; align?: AlignMode; references?: string[] }; result: (Scores & { caption: string })[] }
  fitRealignment: { args: { packDir: string; pairs: FileCaptionPair[]; method: AlignMethod; lambda?: number; activate?: boolean }; result: Realignment & Skipped }
  setRealignment: { args: { packDir: string; method: AlignMethod; realignment: Realignment | null }; result: { ok: true } }
  close: { args: { packDir?: string }; result: { ok: true } }
  /** Pack builder: the real I/O of ONNX files (no pack needed). */
  inspectModels: { args: { files: string[] }; result: ModelIo[] }
  /** Pack builder: embed a caption corpus with a pack's text encoder into resumable files (progress: rows). */
  embedCorpus: { args: { packDir: string } & EmbedCorpusArgs; result: EmbedCorpusResult }
  /** Pack builder: the embedded corpus → the pack's datastore files and their pack.json fragment. */
  writeDatastore: { args: WriteDatastoreArgs; result: WriteDatastoreResult }
  /** Near-duplicates: perceptual hash sets of image files (no pack needed; worker/phash.ts). */
  perceptualHashes: { args: { files: string[]; limitInputPixels?: number }; result: ({ file: string; hash: string } | { file: string; error: ErrorEnvelope })[] }
  /** Pack builder: MacCap's patch route by graph surgery on a stock vision model (CPU-bound, so here). */
  patchRoute: { args: { visionFile: string; outFile: string; sourceName?: string }; result: PatchRouteResult }
}

export type Method = keyof EngineApi

export type EngineRequest = { [K in Method]: { type: K; id: number; args: EngineApi[K]['args'] } }[Method]
export type CancelRequest = { type: 'cancel'; id: number; target: number }
/** What an engine process is started with (sent as its first message). */
/** `niceness`: how much lower than the host the engine runs ([Note: engine niceness]; 0 = the same). */
export type EngineInit = OpenOptions & { sharpThreads?: number; niceness?: number }
export type InitMessage = { type: 'init'; id: 0; options: EngineInit }
/** [Note: engine faults] Tests only: make the engine process abort (`process.abort()`, as a native crash
 *  would) or hang (block its thread: it stops answering) when it starts a request that names `file` (a
 *  path suffix; any request if omitted) and is not a control request (status, close, setRealignment).
 *  Reached only through engine.testFault, which only hosts created with `testFaults` answer (serve
 *  --test-ops). `once`: only the engine running now (else every restarted engine gets it too, like an
 *  image that crashes ONNX Runtime whenever it is seen). `null` disarms. */
export interface FaultSpec {
  kind: 'abort' | 'hang'
  file?: string
  once?: boolean
}
export type FaultMessage = { type: 'fault'; id: number; spec: FaultSpec | null }
export type ToWorker = EngineRequest | CancelRequest | InitMessage | FaultMessage

export interface ProgressInfo {
  done: number
  total: number
  file?: string
}

export type FromWorker =
  | { type: 'ready'; id: 0 }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: ErrorEnvelope }
  | ({ type: 'progress'; id: number } & ProgressInfo)

export const METHODS: readonly Method[] = ['open', 'status', 'caption', 'embedImages', 'embedTexts', 'vqa', 'gap', 'regionSimilarity', 'score', 'fitRealignment', 'setRealignment', 'close', 'inspectModels', 'embedCorpus', 'writeDatastore', 'patchRoute', 'perceptualHashes']
