// Shared by every process: the engine domain (captioning, VQA, modality gap, region similarity, realignment).
// Scores follow src/main/engine/math/scoring.ts: CLIP-S = 2.5·max(cos, 0); aCLIP-S after realignment; Ref* when
// references are given. Candidates are not stored here: the caller stores them (captions repo).
import * as v from 'valibot'
import { Empty, Id, Ok, op } from './define'

const Regions = v.picklist(['patch', 'crops', 'off'])
const Align = v.picklist(['procrustes', 'ridge', 'off'])
const Num = v.pipe(v.number(), v.finite())

export const CaptionOptionsSchema = v.object({
  decoder: v.optional(v.pipe(v.string(), v.maxLength(100))),
  alsoDecoders: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(100))), v.maxLength(8))),
  regions: v.optional(Regions),
  topK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
  patchWeight: v.optional(v.pipe(Num, v.minValue(0), v.maxValue(100))),
  noiseSamples: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(64))),
  noiseVariance: v.optional(v.pipe(Num, v.minValue(0), v.maxValue(10))),
  cleanSample: v.optional(v.boolean()),
  beam: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))),
  maxLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(200))),
  lengthPenalty: v.optional(v.pipe(Num, v.minValue(0), v.maxValue(5))),
  retrieval: v.optional(v.boolean()),
  retrievalK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100))),
  align: v.optional(Align),
  alignPrefix: v.optional(v.boolean()),
  memoryProjection: v.optional(v.boolean()),
  rerank: v.optional(v.boolean()),
  rankBy: v.optional(v.picklist(['aclipS', 'clipS', 'refClipS', 'refAclipS'])),
  mixup: v.optional(v.boolean()),
  concepts: v.optional(v.boolean()),
  conceptTau: v.optional(v.pipe(Num, v.gtValue(0))),
  conceptTopK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100))),
  seed: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4294967295))),
  clipPrefix: v.optional(v.pipe(v.string(), v.maxLength(200)))
})

export const Scores = v.object({
  cos: v.number(),
  clipS: v.number(),
  acos: v.optional(v.number()),
  aclipS: v.optional(v.number()),
  refClipS: v.optional(v.number()),
  refAclipS: v.optional(v.number()),
  quality: v.number()
})

/** pcm-net: which patches of the pooled grid (row-major) the graph's mix-up mixed with which concept. Also
 *  stored in a candidate's source params as `mixMap`, where the renderer re-reads it with this schema. */
export const PcmMixMap = v.object({ grid: v.tuple([v.number(), v.number()]), mixed: v.array(v.object({ patch: v.number(), concept: v.string() })) })
export type PcmMixMap = v.InferOutput<typeof PcmMixMap>

export const EngineCandidate = v.object({
  text: v.string(),
  source: v.picklist(['decoder', 'retrieval', 'decoder+retrieval']),
  score: v.number(),
  scores: Scores,
  provenance: v.object({
    decoder: v.optional(
      v.object({
        id: v.string(),
        /** Decoder kind: prefix-tokens, or pcm-net (PCM-Net: reads image tokens + salient concepts). */
        kind: v.optional(v.string()),
        samples: v.array(v.object({ index: v.number(), seed: v.nullable(v.number()) })),
        logProb: v.number(),
        noiseVariance: v.number(),
        beam: v.number(),
        /** Set when the decoder read the input projected onto the caption memory (DeCap). */
        memory: v.optional(v.object({ rows: v.number(), tau: v.number() })),
        /** pcm-net: which patches of the pooled grid the graph's mix-up mixed with which concept. */
        mixup: v.optional(PcmMixMap)
      })
    ),
    retrieval: v.optional(
      v.object({
        index: v.number(),
        similarity: v.number(),
        align: v.string(),
        /** Where a retrieved caption comes from (pack.json datastore.sources): show "name, licence". */
        source: v.optional(v.object({ name: v.string(), licence: v.string(), attribution: v.optional(v.string()), url: v.optional(v.string()) }))
      })
    )
  })
})
export type EngineCandidate = v.InferOutput<typeof EngineCandidate>

export const Concept = v.object({ word: v.string(), category: v.string(), index: v.number(), prob: v.number(), cos: v.number() })

const Box = v.object({ x: v.number(), y: v.number(), w: v.number(), h: v.number(), label: v.string() })
export const Heatmap = v.variant('kind', [
  v.object({
    kind: v.literal('patch'),
    grid: v.tuple([v.number(), v.number()]),
    weights: v.array(v.number()),
    attention: v.array(v.number()),
    selected: v.array(v.number()),
    clsWeight: v.number()
  }),
  v.object({ kind: v.literal('crops'), boxes: v.array(Box), weights: v.array(v.number()) })
])

export const CaptionOutput = v.object({
  imageId: Id,
  packId: v.string(),
  caption: v.string(),
  candidates: v.array(EngineCandidate),
  concepts: v.array(Concept),
  regions: v.nullable(v.intersect([Heatmap, v.object({ similarity: v.array(v.number()) })])),
  timings: v.record(v.string(), v.number()),
  options: v.record(v.string(), v.unknown())
})
export type CaptionOutput = v.InferOutput<typeof CaptionOutput>

const Skipped = v.array(v.object({ file: v.string(), error: v.object({ code: v.string(), message: v.string() }) }))
const Pair = v.object({ imageId: Id, caption: v.pipe(v.string(), v.minLength(1), v.maxLength(2000)) })

export const GapOutput = v.object({
  n: v.number(),
  dim: v.number(),
  gap: v.array(v.number()),
  gapNorm: v.number(),
  meanImageNorm: v.number(),
  meanTextNorm: v.number(),
  meanSqDistance: v.number(),
  meanShare: v.number(),
  perDim: v.object({ mean: v.array(v.number()), std: v.array(v.number()) }),
  zeroMean: v.object({ meanAbsT: v.number(), shareSignificant: v.number() }),
  gaussian: v.object({ skewness: v.number(), excessKurtosis: v.number(), ks: v.number(), ksCritical05: v.number(), stdMin: v.number(), stdMax: v.number(), stdCv: v.number() }),
  pca: v.object({ image: v.array(v.tuple([v.number(), v.number()])), text: v.array(v.tuple([v.number(), v.number()])), explained: v.tuple([v.number(), v.number()]), gap: v.tuple([v.number(), v.number()]) }),
  shift: v.array(v.object({ fraction: v.number(), r1: v.number() })),
  residualHistogram: v.object({ edges: v.array(v.number()), counts: v.array(v.number()), sigma: v.number(), mean: v.number() }),
  skipped: Skipped
})

export const RealignmentSchema = v.object({
  method: v.picklist(['procrustes', 'ridge']),
  dim: v.pipe(v.number(), v.integer(), v.minValue(1)),
  matrix: v.array(Num),
  pairs: v.number(),
  lambda: v.optional(v.number()),
  fitMs: v.number()
})
export type RealignmentData = v.InferOutput<typeof RealignmentSchema>

export const EngineSupervisor = v.object({
  isolation: v.picklist(['thread', 'process', 'utility']),
  pid: v.nullable(v.number()),
  crashes: v.number(),
  lastCrash: v.nullable(v.object({ at: v.string(), reason: v.string(), method: v.nullable(v.string()) })),
  restartInMs: v.number()
})

export const EngineStatusOutput = v.object({
  active: v.nullable(
    v.object({
      packId: v.string(),
      version: v.string(),
      dir: v.string(),
      embedDim: v.number(),
      decoders: v.array(v.object({ id: v.string(), noiseVariance: v.number(), description: v.optional(v.string()) })),
      defaultDecoder: v.nullable(v.string()),
      defaults: v.record(v.string(), v.unknown()),
      provider: v.nullable(v.string()),
      providerAttempts: v.array(v.object({ provider: v.string(), error: v.string() })),
      sessions: v.number(),
      realignment: v.object({ procrustes: v.string(), ridge: v.string() }),
      datastoreSize: v.number(),
      concepts: v.number()
    })
  ),
  problem: v.nullable(v.string()),
  /** [Note: crash isolation] Where the engine runs and how often it crashed or hung (each time it was
   *  restarted); absent when the engine runs in the host's own thread (tests, eval). */
  supervisor: v.optional(EngineSupervisor)
})

export const engine = {
  'engine.status': op(Empty, EngineStatusOutput, 'The active caption pack and the execution provider in use'),
  'engine.caption': op(
    v.object({ imageId: Id, options: v.optional(CaptionOptionsSchema, {}), references: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(2000))), v.maxLength(50))) }),
    CaptionOutput,
    'Caption one image: ranked candidates with CLIP scores and provenance, concepts, region heatmap, timings (the studio uses captions.suggest, which stores them)',
    'internal'
  ),
  'engine.vqa': op(
    v.object({
      imageId: Id,
      question: v.pipe(v.string(), v.minLength(1), v.maxLength(500)),
      answers: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(200))), v.maxLength(200))),
      type: v.optional(v.picklist(['colour', 'shape', 'count', 'background', 'size', 'other'])),
      template: v.optional(v.pipe(v.string(), v.maxLength(300))),
      align: v.optional(Align)
    }),
    v.object({
      question: v.string(),
      type: v.string(),
      template: v.string(),
      answers: v.array(v.object({ answer: v.string(), statement: v.string(), cos: v.number(), clipS: v.number(), prob: v.number() }))
    }),
    'Zero-shot VQA: candidate answers phrased as statements, ranked by CLIP'
  ),
  'engine.gap': op(
    v.object({ pairs: v.pipe(v.array(Pair), v.minLength(3), v.maxLength(20_000)), fractions: v.optional(v.pipe(v.array(v.pipe(Num, v.minValue(-2), v.maxValue(3))), v.maxLength(50))) }),
    GapOutput,
    'Modality-gap analysis of (image, caption) pairs: gap vector, Gaussian-model test, PCA, R@1 under gap shifts (the studio uses analysis.gap)',
    'internal'
  ),
  'engine.regionSimilarity': op(
    v.object({ imageId: Id, captions: v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(2000))), v.minLength(1), v.maxLength(50)), mode: v.optional(v.picklist(['patch', 'crops']), 'patch'), mixup: v.optional(v.boolean()) }),
    v.object({ imageId: Id, heatmap: Heatmap, captions: v.array(v.object({ caption: v.string(), global: v.number(), regions: v.array(v.number()) })) }),
    'Per-region (patch or crop) similarity of captions to an image, with the heatmap'
  ),
  'engine.score': op(
    v.object({
      imageId: Id,
      captions: v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(2000))), v.minLength(1), v.maxLength(50)),
      align: v.optional(Align),
      references: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(2000))), v.maxLength(50)))
    }),
    v.object({ imageId: Id, scores: v.array(v.object({ caption: v.string(), ...Scores.entries })) }),
    'CLIP-S / aCLIP-S / Ref* scores and the quality weight of any captions (e.g. a human edit) for one image'
  ),
  'engine.fitRealignment': op(
    v.object({ pairs: v.pipe(v.array(Pair), v.minLength(2), v.maxLength(50_000)), method: v.picklist(['procrustes', 'ridge']), lambda: v.optional(v.pipe(Num, v.gtValue(0))), activate: v.optional(v.boolean(), true) }),
    v.object({ realignment: RealignmentSchema, skipped: Skipped }),
    'Fit a realignment from accepted (image, caption) pairs; the caller persists the returned matrix per library (the studio uses analysis.refit)',
    'internal'
  ),
  'engine.testFault': op(
    v.object({ kind: v.picklist(['abort', 'hang', 'none']), file: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(4096))), once: v.optional(v.boolean()) }),
    Ok,
    'Tests only ([Note: engine faults]): make the engine process abort or hang when it next runs a request naming `file`; refused unless the host was started for tests (serve --test-ops)',
    'internal'
  ),
  'engine.setRealignment': op(
    v.object({ method: v.picklist(['procrustes', 'ridge']), realignment: v.nullable(RealignmentSchema) }),
    Ok,
    "Load a stored realignment into the active engine (null returns to the pack's own matrix)",
    'internal'
  )
} as const
