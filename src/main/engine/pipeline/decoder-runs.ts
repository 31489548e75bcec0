// Engine worker / any Node process. The decoding step of the caption pipeline: the main decoder and any
// `alsoDecoders`, each giving a run of (input sample, decoded caption) pairs that caption.ts merges into one
// candidate pool before the CLIP rerank.
// [Note: decoders side by side] A text-only noise decoder and a PCM-Net decoder fail differently on
// ShapesWorld (docs/pcm-net/README.md): the PCM decoder, trained on image patch tokens, is the better one on
// seen compositions and the worse one on held-out ones (it names an unseen pair as a seen one); the
// text-only decoder, trained on text with Gaussian noise for the gap, generalises to held-out pairs. With
// `alsoDecoders` both decode the same image and CLIP-S picks among all their captions, so the rerank can
// take whichever is closer to the image. A prefix decoder among the extras decodes the same prefixes as the
// main one (the clean sample and the noise samples); a pcm-net decoder decodes once from the image tokens.
import { StudioError } from '@shared/errors'
import { noiseSamples, type Decoded, type NoiseSample } from './decode'
import { preparePcm, type PcmMixMap } from './pcm'
import { isPcmDecoder, type AnyDecoderSpec } from '../packs/pack-schema'
import type { Engine } from '../worker/engine'
import type { ImageEncoding } from '../worker/encoders'
import { normalize, type Vec } from '../math/linalg'
import type { ResolvedOptions } from './options'

export interface DecoderRun {
  decoderId: string
  kind: 'pcm-net' | 'prefix-tokens'
  /** One per decoded caption, in the same order. */
  samples: NoiseSample[]
  decoded: Decoded[]
  /** pcm-net: which pooled patches the graph mixed with which concept. */
  mix?: PcmMixMap
}

export const MAX_ALSO_DECODERS = 8

/** The decoders a caption request runs, main first; none when it does not decode (retrieval only). */
export function decodersFor(engine: Engine, o: ResolvedOptions): AnyDecoderSpec[] {
  if (!(o.noiseSamples > 0 || o.cleanSample)) return []
  const ids = [o.decoder, ...o.alsoDecoders]
  if (o.alsoDecoders.length > MAX_ALSO_DECODERS) throw new StudioError('invalid_input', `alsoDecoders: at most ${MAX_ALSO_DECODERS} decoders`)
  if (new Set(ids).size !== ids.length) throw new StudioError('invalid_input', `alsoDecoders must name other decoders than the main one (${o.decoder}), each once`)
  return ids.map((id) => engine.anyDecoder(id))
}

/** Decode one image with every decoder in `specs`. `base` is the (fused, realigned, projected) prefix the
 *  noise samples are drawn around; `clean` the clean sample's prefix. */
export async function runDecoders(
  engine: Engine,
  specs: readonly AnyDecoderSpec[],
  enc: ImageEncoding,
  o: ResolvedOptions,
  prefixes: { base: () => Vec; clean: () => Vec },
  signal?: AbortSignal
): Promise<DecoderRun[]> {
  const dopts = { beam: o.beam, maxLength: o.maxLength, lengthPenalty: o.lengthPenalty, signal }
  let samples: NoiseSample[] | null = null
  const prefixSamples = (): NoiseSample[] => {
    if (samples) return samples
    samples = noiseSamples(prefixes.base(), o.noiseSamples, o.noiseVariance, o.seed, false)
    if (o.cleanSample) samples.unshift({ index: -1, seed: null, prefix: prefixes.clean() })
    return samples
  }
  const runs: DecoderRun[] = []
  for (const spec of specs) {
    if (isPcmDecoder(spec)) {
      const prep = preparePcm(engine.pack, spec, enc.embed, enc.tokens)
      const decoded = await engine.decodePcm(spec.id, [prep.input], dopts)
      runs.push({ decoderId: spec.id, kind: 'pcm-net', samples: [{ index: -1, seed: null, prefix: normalize(enc.embed) }], decoded, ...(prep.mix ? { mix: prep.mix } : {}) })
    } else {
      const s = prefixSamples()
      const decoded = await engine.decode(spec.id, s.map((x) => x.prefix), dopts)
      runs.push({ decoderId: spec.id, kind: 'prefix-tokens', samples: s, decoded })
    }
  }
  return runs
}
