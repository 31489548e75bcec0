// Engine worker (plain Node) — also usable in-process (tests, eval). One loaded pack: its verified files,
// memoised ONNX sessions, the active realignment, a text-embedding cache, and the embedding primitives the
// pipelines (caption.ts, vqa.ts) build on.
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { StudioError } from '@shared/errors'
import { decodeGroups, decodePrefixes, type Decoded } from '../pipeline/decode'
import { cachedSteps, fullRerunSteps } from './decode-steps'
import { pcmSteps, type PcmInput } from './pcm-steps'
import { decodeTailEnabled, openTailSessions } from './decode-tail-session'
import { encodeImages, encodeTexts, type ImageEncoding } from './encoders'
import { type Vec } from '../math/linalg'
import { findAnyDecoder, findDecoder, findPcmDecoder, loadPack, type LoadedPack } from '../packs/pack'
import { isPcmDecoder, type AnyDecoderSpec, type DecoderSpec, type ModelSpec, type PcmDecoderSpec } from '../packs/pack-schema'
import { preprocessMany, type PreprocessOutcome, type PreprocessOptions } from './preprocess'
import { overlapped, overlapPiece, PreprocessAhead } from './preprocess-ahead'
import type { Box } from '../pipeline/regions'
import { applyRealignment, fitRealignment, type AlignMethod, type EmbeddingPair, type Realignment } from '../math/realign'
import { SessionPool, type Provider, type SessionInfo, type SessionPoolOptions } from './sessions'
import { VerifyCache } from '../packs/verify'
import type { AlignMode } from '../pipeline/options'

export interface EngineOptions extends SessionPoolOptions {
  /** JSON file remembering verified file hashes (see verify.ts); in memory only when omitted. */
  verifyCacheFile?: string
  limitInputPixels?: number
  signal?: AbortSignal
  /** Decode images ahead of the encoder ([Note: preprocess ahead]); default: only when a core is left over
   *  beside ONNX Runtime's intra-op threads. */
  preprocessAhead?: boolean
  /** Decoders with a smaller vocabulary keep the JavaScript next-token path (default DECODE_TAIL_MIN_VOCAB). */
  decodeTailMinVocab?: number
}

export interface EngineStatus {
  packId: string
  version: string
  dir: string
  embedDim: number
  decoders: { id: string; noiseVariance: number; description?: string }[]
  defaultDecoder: string | null
  defaults: Record<string, unknown>
  provider: Provider | null
  providerAttempts: { provider: Provider; error: string }[]
  sessions: number
  realignment: { procrustes: 'pack' | 'custom' | 'none'; ridge: 'pack' | 'custom' | 'none' }
  verify: { checked: number; hashed: number; fromCache: number; ms: number }
  datastoreSize: number
  concepts: number
}

const TEXT_CACHE_MAX = 20_000
export const DECODE_TAIL_MIN_VOCAB = 1024

export class Engine {
  readonly pool: SessionPool
  private readonly textCache = new Map<string, Vec>()
  private readonly custom = new Map<AlignMethod, Realignment>()
  private lastSession: SessionInfo | null = null
  private readonly ahead: PreprocessAhead
  /** [Note: overlap only with a spare core] On 2 cores with 2 intra-op threads the bench (--only overlap)
   *  measured decoding ahead as no faster, at b=8 slower, than decoding then encoding: sharp then takes
   *  cores from the run it is meant to hide behind. So it is on only where a core is left over. */
  readonly overlapEnabled: boolean

  private constructor(readonly pack: LoadedPack, private readonly opts: EngineOptions) {
    this.pool = new SessionPool(opts)
    this.overlapEnabled = opts.preprocessAhead ?? availableParallelism() > this.pool.threads
    this.ahead = new PreprocessAhead((files, crops) => preprocessMany(files, this.pack.json.preprocess, { limitInputPixels: this.opts.limitInputPixels, crops }))
  }

  /** Validate and verify the pack (sha256) and read its arrays. Sessions open lazily. */
  static async open(dir: string, opts: EngineOptions = {}): Promise<Engine> {
    const pack = await loadPack(dir, { cache: new VerifyCache(opts.verifyCacheFile), signal: opts.signal })
    return new Engine(pack, opts)
  }

  get dim(): number {
    return this.pack.json.embedDim
  }

  private async session(spec: ModelSpec, label: string): Promise<SessionInfo> {
    const info = await this.pool.get(join(this.pack.dir, spec.file), spec, label)
    this.lastSession = info
    return info
  }

  /** Open the image and text encoders now (and the default decoder), so the first request is not slow. */
  async warm(decoder?: string): Promise<void> {
    await this.session(this.pack.json.models.image, 'image encoder')
    await this.session(this.pack.json.models.text, 'text encoder')
    if (this.pack.json.decoders.length) {
      const d = findAnyDecoder(this.pack.json, decoder)
      if (!isPcmDecoder(d)) {
        const t = this.wantsTail(d) ? await openTailSessions(this.pool, (f) => join(this.pack.dir, f), d, true) : null
        if (t && !('unsupported' in t)) return
      }
      await this.session(d, `decoder ${d.id}`)
      if (!isPcmDecoder(d) && d.cache) await this.session(d.cache, `decoder ${d.id} cache step`)
    }
  }

  async provider(): Promise<Provider> {
    return (await this.session(this.pack.json.models.image, 'image encoder')).provider
  }

  status(): EngineStatus {
    const j = this.pack.json
    const src = (m: AlignMethod, packMatrix?: Float32Array) => (this.custom.has(m) ? 'custom' : packMatrix ? 'pack' : 'none')
    return {
      packId: j.id,
      version: j.version,
      dir: this.pack.dir,
      embedDim: j.embedDim,
      decoders: j.decoders.map((d) => ({ id: d.id, noiseVariance: d.noiseVariance, description: d.description })),
      defaultDecoder: j.defaultDecoder ?? j.decoders[0]?.id ?? null,
      defaults: { ...j.defaults },
      provider: this.lastSession?.provider ?? null,
      providerAttempts: this.lastSession?.attempts ?? [],
      sessions: this.pool.loaded(),
      realignment: { procrustes: src('procrustes', this.pack.realignProcrustes), ridge: src('ridge', this.pack.realignRidge) },
      verify: this.pack.verify,
      datastoreSize: this.pack.compactDatastore?.rows ?? this.pack.datastore?.rows ?? 0,
      concepts: this.pack.concepts?.rows ?? 0
    }
  }

  /** Model inputs per file (never throws for a bad file); files started by `prefetch` are taken from there. */
  preprocess(files: readonly string[], opts: Omit<PreprocessOptions, 'limitInputPixels'> & { signal?: AbortSignal } = {}): Promise<PreprocessOutcome[]> {
    return this.ahead.take(files, opts.crops, opts.signal)
  }

  /** Start preprocessing files a later `preprocess` call will ask for ([Note: preprocess ahead]). */
  prefetch(files: readonly string[], crops?: readonly Box[]): void {
    if (this.overlapEnabled) this.ahead.start(files, crops)
  }

  async encodePixels(pixels: readonly Float32Array[], withTokens: boolean): Promise<ImageEncoding[]> {
    if (pixels.length === 0) return []
    const spec = this.pack.json.models.image
    const { session } = await this.session(spec, 'image encoder')
    if (withTokens && !spec.roles.tokens) throw new StudioError('unsupported', `pack ${this.pack.json.id}: the image encoder has no token output (regions "patch" and mix-up need it)`)
    return encodeImages(session, spec, this.pack.json.preprocess.size, pixels, withTokens)
  }

  /** Normalised text embeddings, cached per exact text (`cache: false` for one-off bulk text, e.g. a corpus). */
  async embedTexts(texts: readonly string[], opts: { cache?: boolean } = {}): Promise<Vec[]> {
    const spec = this.pack.json.models.text
    if (opts.cache === false) return encodeTexts((await this.session(spec, 'text encoder')).session, spec, this.pack.tokenizer, texts)
    const missing = [...new Set(texts.filter((t) => !this.textCache.has(t)))]
    if (missing.length) {
      const { session } = await this.session(spec, 'text encoder')
      const embs = await encodeTexts(session, spec, this.pack.tokenizer, missing)
      if (this.textCache.size + missing.length > TEXT_CACHE_MAX) this.textCache.clear()
      missing.forEach((t, i) => this.textCache.set(t, embs[i]!))
    }
    return texts.map((t) => this.textCache.get(t)!)
  }

  /** Normalised global image embeddings per file; a failed file gets its error instead. */
  async embedImages(files: readonly string[], signal?: AbortSignal): Promise<({ file: string; embedding: Vec } | { file: string; error: StudioError })[]> {
    // [Note: preprocess ahead] in pieces: piece k+1 decodes while piece k is encoded.
    return overlapped(files, this.overlapEnabled ? overlapPiece(files.length) : Math.max(1, files.length), (part) => this.preprocess(part, { signal }), async (pre) => {
      const ok = pre.flatMap((p) => (p.ok ? [p.value] : []))
      const enc = await this.encodePixels(ok.map((p) => p.pixels), false)
      let k = 0
      return pre.map((p) => (p.ok ? { file: p.value.file, embedding: enc[k++]!.embed } : { file: p.file, error: p.error }))
    })
  }

  /** [Note: tail threshold] The tail removes a B × V logits copy and a JS log-sum-exp per step; at the demo
   *  pack's 43 words there is nothing to remove and three more graph nodes to run, so small vocabularies (and a
   *  vocabulary pack.json does not fix) keep the JavaScript path. */
  private wantsTail(spec: DecoderSpec): boolean {
    const vocab = Number(spec.outputs.find((o) => o.name === spec.roles.logits)?.shape[2])
    return decodeTailEnabled() && Number.isFinite(vocab) && vocab >= (this.opts.decodeTailMinVocab ?? DECODE_TAIL_MIN_VOCAB)
  }

  decoder(id?: string): DecoderSpec {
    return findDecoder(this.pack.json, id)
  }

  /** Any decoder entry (prefix-tokens or pcm-net), checked to be one this engine runs. */
  anyDecoder(id?: string): AnyDecoderSpec {
    const d = findAnyDecoder(this.pack.json, id)
    return isPcmDecoder(d) ? findPcmDecoder(this.pack, id) : d
  }

  pcmDecoder(id?: string): PcmDecoderSpec {
    return findPcmDecoder(this.pack, id)
  }

  /** Decode with a pcm-net decoder: one input (image tokens + salient concepts) per image. */
  async decodePcm(decoderId: string, inputs: readonly PcmInput[], opts: { beam: number; maxLength: number; lengthPenalty?: number; signal?: AbortSignal }): Promise<Decoded[]> {
    if (inputs.length === 0) return []
    const spec = findPcmDecoder(this.pack, decoderId)
    const { session } = await this.session(spec, `decoder ${spec.id}`)
    return decodeGroups(pcmSteps(session, spec, inputs, this.dim), this.pack.tokenizer, inputs.length, opts)
  }

  /** Decodes incrementally when the decoder has a `cache` step model, unless `cache: false` (for comparisons);
   *  with the next-token tail in the graph unless `tail: false` or the graph cannot take one (decode-tail-session.ts). */
  async decode(decoderId: string, prefixes: readonly Vec[], opts: { beam: number; maxLength: number; lengthPenalty?: number; signal?: AbortSignal; cache?: boolean; tail?: boolean }): Promise<Decoded[]> {
    if (prefixes.length === 0) return []
    const spec = this.decoder(decoderId)
    const cache = spec.cache && opts.cache !== false ? spec.cache : null
    const vocab = Number(spec.outputs.find((o) => o.name === spec.roles.logits)?.shape[2])
    if (opts.tail !== false && this.wantsTail(spec)) {
      const t = await openTailSessions(this.pool, (f) => join(this.pack.dir, f), spec, cache !== null)
      if (!('unsupported' in t)) {
        const tail = { k: Math.max(1, Math.min(opts.beam, Number.isFinite(vocab) && vocab > 0 ? vocab : opts.beam)) }
        const runner = cache && t.step ? cachedSteps(t.init, t.step, { ...spec, cache }, prefixes, tail) : fullRerunSteps(t.init, spec, prefixes, tail)
        return decodePrefixes(runner, this.pack.tokenizer, prefixes, opts)
      }
    }
    const { session } = await this.session(spec, `decoder ${spec.id}`)
    const runner = cache
      ? cachedSteps(session, (await this.session(cache, `decoder ${spec.id} cache step`)).session, { ...spec, cache }, prefixes)
      : fullRerunSteps(session, spec, prefixes)
    return decodePrefixes(runner, this.pack.tokenizer, prefixes, opts)
  }

  /** The active realignment matrix for a mode: a custom (refit) one first, else the pack's; null when off. */
  realignmentMatrix(mode: AlignMode): ArrayLike<number> | null {
    if (mode === 'off') return null
    const custom = this.custom.get(mode)
    if (custom) return custom.matrix
    const m = mode === 'procrustes' ? this.pack.realignProcrustes : this.pack.realignRidge
    if (!m) throw new StudioError('unsupported', `pack ${this.pack.json.id} has no ${mode} realignment matrix (use align "off" or fit one)`)
    return m
  }

  realign(x: Vec, mode: AlignMode): Vec | null {
    const m = this.realignmentMatrix(mode)
    return m ? applyRealignment(x, m, this.dim) : null
  }

  /** Install a realignment fitted elsewhere (e.g. loaded from the store for this library); null resets. */
  setRealignment(method: AlignMethod, r: Realignment | null): void {
    if (!r) {
      this.custom.delete(method)
      return
    }
    if (r.dim !== this.dim || r.matrix.length !== this.dim * this.dim) throw new StudioError('invalid_input', `realignment is ${r.dim}-d, pack ${this.pack.json.id} is ${this.dim}-d`)
    this.custom.set(method, r)
  }

  /** Fit from (image, caption) pairs given as embeddings, and make it active unless `activate` is false. */
  fitRealignment(pairs: readonly EmbeddingPair[], method: AlignMethod, opts: { lambda?: number; activate?: boolean } = {}): Realignment {
    const r = fitRealignment(pairs, method, opts)
    if (opts.activate !== false) this.setRealignment(method, r)
    return r
  }

  async close(): Promise<void> {
    this.pack.compactDatastore?.close()
    await this.pool.release()
  }
}
