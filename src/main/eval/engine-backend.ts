// Any Node process (onnxruntime-node, in-process). The evaluation backend over the real caption engine:
// helper calls into src/main/engine's public API (Engine.open, captionFiles, embedImages, embedTexts).
// In-process on purpose: the evaluation is a batch job with nothing else on its event loop, and running in
// the same process keeps the measured time free of worker messaging (the bench measures that separately).
import { captionFiles, Engine, type CaptionOptions, type EngineOptions } from '../engine/worker'
import type { BackendFactory, CaptionOutcome, EvalBackend } from './harness'

class EngineBackend implements EvalBackend {
  constructor(private readonly engine: Engine) {}

  async warm(options: CaptionOptions): Promise<void> {
    await this.engine.warm(options.decoder)
  }

  async caption(files: readonly string[], options: CaptionOptions, onProgress?: (done: number) => void): Promise<CaptionOutcome[]> {
    const out = await captionFiles(
      this.engine,
      files.map((file) => ({ file })),
      options,
      { onProgress: (p) => onProgress?.(p.done) }
    )
    return out.map((r) => ('error' in r ? { file: r.file, caption: null, error: `${r.error.code}: ${r.error.message}` } : { file: r.file, caption: r.caption, source: r.candidates[0]?.source }))
  }

  async embedImages(files: readonly string[]): Promise<Float32Array[]> {
    const res = await this.engine.embedImages(files)
    return res.map((r) => {
      if ('error' in r) throw new Error(`cannot embed ${r.file}: ${r.error.message}`)
      return r.embedding
    })
  }

  embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    return this.engine.embedTexts(texts)
  }

  describe(): { provider: string; pack: string } {
    const s = this.engine.status()
    return { provider: s.provider ?? 'not started', pack: `${s.packId}@${s.version}` }
  }

  close(): Promise<void> {
    return this.engine.close()
  }
}

export function engineBackendFactory(packDir: string, opts: EngineOptions = {}): BackendFactory {
  return async () => new EngineBackend(await Engine.open(packDir, opts))
}
