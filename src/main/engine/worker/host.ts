// Engine worker (plain Node) — also used in-process by tests and eval code. Holds one Engine per pack folder
// (opened once, memoised as a promise) and executes EngineApi requests against it. Transport-free: the
// worker entry (worker.ts) and the in-process client both call `handle`.
// [Note: pack changed on disk] A pack folder may be changed by hand while its engine is open (the model kit's
// add_decoder.py adds a decoder to an installed pack). Every `open` request (activation, the CLI) compares
// pack.json's size and mtime with those seen when the engine was opened, and re-opens — verifying every file
// again — when they differ. Other requests keep using the open engine.
import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { StudioError } from '@shared/errors'
import { fitFromPairs, gapForPairs, regionSimilarityFor, scoreCaptionsFor } from '../pipeline/analysis'
import { captionFiles, prefetchCaption } from '../pipeline/caption'
import { Engine } from './engine'
import type { EngineApi, Method, OpenOptions, ProgressInfo } from '../client/protocol'

type Call = { [K in Method]: { type: K; args: EngineApi[K]['args'] } }[Method]
import { answerQuestion } from '../pipeline/vqa'
import { embedCorpus } from './corpus-embed'
import { inspectModels } from './inspect-models'
import { writeDatastore } from './datastore-write'
import { patchRouteFor } from '../packs/graph-surgery'
import { perceptualHashes } from './phash'

/** pack.json's size and mtime ('' when it cannot be read). */
function stamp(dir: string): string {
  try {
    const st = statSync(join(dir, 'pack.json'))
    return `${st.size}:${st.mtimeMs}`
  } catch {
    return ''
  }
}

export class EngineHost {
  private readonly engines = new Map<string, Promise<Engine>>()
  private readonly stamps = new Map<string, string>()

  constructor(private readonly defaults: OpenOptions = {}) {}

  engine(packDir: string, options?: OpenOptions): Promise<Engine> {
    const key = resolve(packDir)
    let p = this.engines.get(key)
    if (!p) {
      this.stamps.set(key, stamp(key))
      p = Engine.open(key, { ...this.defaults, ...options })
      this.engines.set(key, p)
      p.catch(() => this.engines.delete(key))
    }
    return p
  }

  /** A queued request's images start decoding while the request before it runs ([Note: preprocess ahead]);
   *  only for an engine already open, and never an error (the request itself reports those). */
  prefetch(req: { type: Method; args: unknown }): void {
    const call = req as Call
    if (call.type !== 'caption' && call.type !== 'embedImages') return
    const open = this.engines.get(resolve(call.args.packDir))
    void open
      ?.then((e) => (call.type === 'caption' ? prefetchCaption(e, call.args.inputs, call.args.options) : e.prefetch(call.args.files)))
      .catch(() => undefined)
  }

  async handle<K extends Method>(type: K, args: EngineApi[K]['args'], signal: AbortSignal, onProgress: (p: ProgressInfo) => void): Promise<EngineApi[K]['result']> {
    const req = { type, args } as Call
    return (await this.run(req, signal, onProgress)) as EngineApi[K]['result']
  }

  private async run(req: Call, signal: AbortSignal, onProgress: (p: ProgressInfo) => void): Promise<unknown> {
    switch (req.type) {
      case 'open': {
        const key = resolve(req.args.packDir)
        if (this.engines.has(key) && this.stamps.get(key) !== stamp(key)) await this.run({ type: 'close', args: { packDir: key } }, signal, onProgress)
        const e = await this.engine(req.args.packDir, req.args.options)
        if (req.args.warm) await e.warm()
        return e.status()
      }
      case 'status':
        return (await this.engine(req.args.packDir)).status()
      case 'caption':
        return captionFiles(await this.engine(req.args.packDir), req.args.inputs, req.args.options, { signal, onProgress })
      case 'embedImages': {
        const r = await (await this.engine(req.args.packDir)).embedImages(req.args.files, signal)
        return r.map((x) => ('error' in x ? { file: x.file, error: x.error.toEnvelope() } : x))
      }
      case 'embedTexts':
        return (await this.engine(req.args.packDir)).embedTexts(req.args.texts)
      case 'vqa':
        return answerQuestion(await this.engine(req.args.packDir), req.args.file, req.args.request)
      case 'gap':
        return gapForPairs(await this.engine(req.args.packDir), req.args.pairs, req.args.fractions, signal)
      case 'regionSimilarity':
        return regionSimilarityFor(await this.engine(req.args.packDir), req.args.file, req.args.captions, req.args.mode, { mixup: req.args.mixup })
      case 'score':
        return scoreCaptionsFor(await this.engine(req.args.packDir), req.args.file, req.args.captions, { align: req.args.align, references: req.args.references })
      case 'fitRealignment':
        return fitFromPairs(await this.engine(req.args.packDir), req.args.pairs, req.args.method, { lambda: req.args.lambda, activate: req.args.activate, signal })
      case 'setRealignment':
        ;(await this.engine(req.args.packDir)).setRealignment(req.args.method, req.args.realignment)
        return { ok: true }
      case 'inspectModels':
        return inspectModels(req.args.files)
      case 'embedCorpus': {
        const { packDir, ...args } = req.args
        return embedCorpus(await this.engine(packDir), args, signal, (p) => onProgress(p))
      }
      case 'patchRoute':
        return patchRouteFor(req.args.visionFile, req.args.outFile, req.args.sourceName ? { sourceName: req.args.sourceName } : {})
      case 'perceptualHashes':
        return perceptualHashes(req.args.files, req.args.limitInputPixels ?? this.defaults.limitInputPixels, signal)
      case 'writeDatastore':
        return writeDatastore(req.args, signal, (p) => onProgress(p))
      case 'close': {
        const keys = req.args.packDir ? [resolve(req.args.packDir)] : [...this.engines.keys()]
        for (const k of keys) {
          const p = this.engines.get(k)
          this.engines.delete(k)
          const e = await p?.catch(() => null)
          await e?.close()
        }
        return { ok: true }
      }
      default:
        throw new StudioError('not_found', `unknown engine method "${(req as { type: string }).type}"`)
    }
  }
}

