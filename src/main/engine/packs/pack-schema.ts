// Engine worker / any Node process (pure). The valibot schema of `pack.json` (`caption-studio-pack/1`,
// docs/pack-format.md). Unknown keys are kept out of the typed result but tolerated, so a newer model kit
// can add metadata without breaking older engines; anything the engine *uses* is checked here.
import * as v from 'valibot'
import { DATASTORE_FORMAT, MAX_SOURCE_ID } from './datastore-format'

const Dim = v.union([v.pipe(v.number(), v.integer(), v.minValue(1)), v.pipe(v.string(), v.minLength(1))])

export const TensorSpec = v.object({
  name: v.pipe(v.string(), v.minLength(1)),
  shape: v.array(Dim),
  dtype: v.picklist(['float32', 'int64', 'int32', 'float16', 'bool'])
})
export type TensorSpec = v.InferOutput<typeof TensorSpec>

/** A path inside the pack: relative, forward slashes, no '..' segment, no drive letter. */
export const PackPath = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(512),
  v.check(
    (p) => !p.startsWith('/') && !p.includes('\\') && !/^[a-zA-Z]:/.test(p) && !p.split('/').some((s) => s === '..' || s === '' || s === '.') && !p.includes('\0'),
    'must be a relative path inside the pack (no "..", no leading "/")'
  )
)

const Sha256 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'))

export const ModelSpec = v.object({
  file: PackPath,
  roles: v.record(v.string(), v.string()),
  inputs: v.pipe(v.array(TensorSpec), v.minLength(1)),
  outputs: v.pipe(v.array(TensorSpec), v.minLength(1))
})
export type ModelSpec = v.InferOutput<typeof ModelSpec>

export const ImageModelSpec = v.object({
  ...ModelSpec.entries,
  roles: v.object({ pixels: v.string(), embeds: v.string(), tokens: v.optional(v.string()), attention: v.optional(v.string()) }),
  patchGrid: v.optional(v.tuple([v.pipe(v.number(), v.integer(), v.minValue(1)), v.pipe(v.number(), v.integer(), v.minValue(1))]))
})
export type ImageModelSpec = v.InferOutput<typeof ImageModelSpec>

export const TextModelSpec = v.object({
  ...ModelSpec.entries,
  roles: v.object({ ids: v.string(), mask: v.optional(v.string()), embeds: v.string() })
})
export type TextModelSpec = v.InferOutput<typeof TextModelSpec>

/** Incremental decoding (decoder `cache`): the step graph of Hugging Face's decoder_with_past layout. */
export const DecoderCacheSpec = v.object({
  ...ModelSpec.entries,
  roles: v.object({ ids: v.string(), past: v.string(), logits: v.string(), present: v.string() })
})
export type DecoderCacheSpec = v.InferOutput<typeof DecoderCacheSpec>

/** Decoder kind `pcm-net` (PCM-Net, methods.md §4; trained by tools/modelkit/train_pcm.py): an encoder–decoder
 *  over the image's token features and its salient concepts' text features, with patch-wise mix-up inside the
 *  graph. Inputs by role: `tokens` [batch, 1 + G², D] (the image encoder's token output, CLS first), optional
 *  `concepts` [batch, K, D] (the pack's `concepts` rows of the K salient concepts; absent for a model trained
 *  without mix-up), `ids`; output `logits` as a prefix-tokens decoder. `mixup` describes the in-graph mix-up
 *  (K = conceptTopK; topM patches of the grid pooled pool×pool) for the heatmap. */
export const PcmDecoderSpec = v.object({
  ...ModelSpec.entries,
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  kind: v.literal('pcm-net'),
  noiseVariance: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
  description: v.optional(v.string()),
  roles: v.object({ tokens: v.string(), concepts: v.optional(v.string()), ids: v.string(), logits: v.string() }),
  mixup: v.optional(
    v.object({
      topM: v.pipe(v.number(), v.integer(), v.minValue(1)),
      tau: v.pipe(v.number(), v.gtValue(0)),
      conceptTopK: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)),
      pool: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1)
    })
  )
})
export type PcmDecoderSpec = v.InferOutput<typeof PcmDecoderSpec>

export const DecoderSpec = v.pipe(
  v.object({
    ...ModelSpec.entries,
    id: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
    kind: v.pipe(v.string(), v.check((k) => k !== 'pcm-net', 'a pcm-net decoder needs roles tokens, ids and logits (and concepts with mix-up)')),
    noiseVariance: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
    description: v.optional(v.string()),
    roles: v.object({ prefix: v.string(), ids: v.string(), logits: v.string(), present: v.optional(v.string()) }),
    cache: v.optional(DecoderCacheSpec)
  }),
  v.check((d) => !d.cache || !!d.roles.present, 'a decoder with a `cache` step model needs roles.present: the main model must output the cache')
)
export type DecoderSpec = v.InferOutput<typeof DecoderSpec>

/** Any decoder entry: a `pcm-net` one, or a prefix-tokens one (other kinds parse here and are refused when used). */
export const AnyDecoderSpec = v.union([PcmDecoderSpec, DecoderSpec])
export type AnyDecoderSpec = v.InferOutput<typeof AnyDecoderSpec>
export const isPcmDecoder = (d: AnyDecoderSpec): d is PcmDecoderSpec => d.kind === 'pcm-net'
/** The decoders that read one prefix embedding (every kind but pcm-net). */
export const prefixDecoders = (decoders: readonly AnyDecoderSpec[]): DecoderSpec[] => decoders.filter((d): d is DecoderSpec => !isPcmDecoder(d))

export const ArraySpec = v.object({ file: PackPath, shape: v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(1))), v.minLength(1)) })
export type ArraySpec = v.InferOutput<typeof ArraySpec>

export const Regions = v.picklist(['patch', 'crops', 'off'])
export const Align = v.picklist(['procrustes', 'ridge', 'off'])

export const PackDefaults = v.object({
  regions: v.optional(Regions, 'patch'),
  topK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10),
  patchWeight: v.optional(v.number(), 1.0),
  noiseSamples: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 8),
  noiseVariance: v.optional(v.pipe(v.number(), v.minValue(0))),
  beam: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1),
  maxLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 20),
  retrieval: v.optional(v.boolean(), true),
  retrievalK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5),
  align: v.optional(Align, 'ridge'),
  rerank: v.optional(v.boolean(), true),
  mixup: v.optional(v.boolean(), false),
  conceptTau: v.optional(v.pipe(v.number(), v.gtValue(0)), 0.01),
  conceptTopK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5),
  cleanSample: v.optional(v.boolean(), true),
  alignPrefix: v.optional(v.boolean(), false),
  /** Decoders whose captions join the main (default) decoder's before the rerank (pipeline/decoder-runs.ts). */
  alsoDecoders: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(100))), v.maxLength(8)), []),
  /** DeCap's projection of the decoder input onto the caption datastore (pipeline/memory.ts). */
  memoryProjection: v.optional(v.boolean(), false),
  /** Ranking score; default aclipS with a realignment, else clipS. */
  rankBy: v.optional(v.picklist(['aclipS', 'clipS', 'refClipS', 'refAclipS'])),
  clipPrefix: v.optional(v.string(), '')
})
export type PackDefaults = v.InferOutput<typeof PackDefaults>

/** Where datastore captions come from, shown with every retrieved caption ("COCO caption, CC BY 4.0"). */
export const DatastoreSource = v.object({
  id: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_SOURCE_ID)),
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  licence: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  attribution: v.optional(v.pipe(v.string(), v.maxLength(2000))),
  url: v.optional(v.pipe(v.string(), v.maxLength(2000)))
})
export type DatastoreSource = v.InferOutput<typeof DatastoreSource>

const Sources = v.pipe(
  v.array(DatastoreSource),
  v.minLength(1),
  v.check((s) => new Set(s.map((x) => x.id)).size === s.length, 'source ids must be unique')
)

/** The ANN index of a compact datastore (usearch HNSW; datastore-index.ts [Note: index choice]): int8 rows
 *  with the cosine metric, or sign bits of the centred rows (`centre`: dim float32 LE) with Hamming. */
export const DatastoreIndexSpec = v.pipe(
  v.object({
    /** One file per shard of `shardRows` rows, in row order. */
    files: v.pipe(v.array(PackPath), v.minLength(1)),
    shardRows: v.pipe(v.number(), v.integer(), v.minValue(1)),
    kind: v.literal('usearch-hnsw'),
    metric: v.picklist(['cos', 'hamming']),
    quantization: v.picklist(['i8', 'b1']),
    connectivity: v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(256)),
    expansionAdd: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
    expansionSearch: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
    centre: v.optional(PackPath)
  }),
  v.check((x) => (x.quantization === 'i8' ? x.metric === 'cos' && !x.centre : x.metric === 'hamming' && !!x.centre), 'an i8 index uses metric "cos" and no centre; a b1 index uses metric "hamming" and a centre file')
)
export type DatastoreIndexSpec = v.InferOutput<typeof DatastoreIndexSpec>

/** `caption-studio-datastore/1` (datastore-format.ts): int8 rows + captions blob (+ an index when large). */
export const CompactDatastoreSpec = v.object({
  format: v.literal(DATASTORE_FORMAT),
  rows: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffffffff - 1)),
  vectors: PackPath,
  captions: PackPath,
  index: v.optional(DatastoreIndexSpec),
  sources: Sources
})
export type CompactDatastoreSpec = v.InferOutput<typeof CompactDatastoreSpec>

/** The original layout: float32 `arrays.datastore` + a JSON array of captions; one optional source for all rows. */
export const LegacyDatastoreSpec = v.object({
  format: v.optional(v.undefined()),
  captions: PackPath,
  sources: v.optional(v.pipe(Sources, v.maxLength(1, 'a float32 datastore has no per-row source ids: give at most one source (it applies to every row)')))
})

export const DatastoreSpec = v.variant('format', [CompactDatastoreSpec, LegacyDatastoreSpec])
export type DatastoreSpec = v.InferOutput<typeof DatastoreSpec>

export const isCompactDatastore = (d: DatastoreSpec | undefined): d is CompactDatastoreSpec => d?.format === DATASTORE_FORMAT

/** Whether the pack has a caption datastore to retrieve from (either layout). */
export const hasDatastore = (p: PackJson): boolean => isCompactDatastore(p.datastore) || (!!p.datastore && !!p.arrays.datastore)

export const PackJson = v.object({
  format: v.literal('caption-studio-pack/1', 'unsupported pack format (expected "caption-studio-pack/1")'),
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'pack id must be lowercase letters, digits, ".", "_" or "-"')),
  version: v.string(),
  licence: v.optional(v.string()),
  description: v.optional(v.string()),
  /** What kind of images the pack knows ([Note: domain guard]): `synthetic-shapes` (the demo), `photos`, …
   *  A pack without it is treated as `unknown`: the studio does not warn, but cannot promise anything. */
  domain: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,40}$/))),
  embedDim: v.pipe(v.number(), v.integer(), v.minValue(1)),
  preprocess: v.object({
    size: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)),
    resize: v.picklist(['shortest-edge']),
    kernel: v.picklist(['cubic', 'linear', 'lanczos3', 'nearest', 'mitchell', 'lanczos2']),
    mean: v.tuple([v.number(), v.number(), v.number()]),
    std: v.tuple([v.pipe(v.number(), v.gtValue(0)), v.pipe(v.number(), v.gtValue(0)), v.pipe(v.number(), v.gtValue(0))])
  }),
  /** `config`: a tokenizer_config.json beside a Hugging Face tokenizer.json (type "hf-tokenizer-json"). */
  tokenizer: v.object({ file: PackPath, type: v.string(), config: v.optional(PackPath) }),
  models: v.object({ image: ImageModelSpec, text: TextModelSpec }),
  decoders: v.optional(v.array(AnyDecoderSpec), []),
  defaultDecoder: v.optional(v.string()),
  arrays: v.optional(
    v.object({
      datastore: v.optional(ArraySpec),
      concepts: v.optional(ArraySpec),
      gapMean: v.optional(ArraySpec),
      gapStd: v.optional(ArraySpec),
      realignProcrustes: v.optional(ArraySpec),
      realignRidge: v.optional(ArraySpec)
    }),
    {}
  ),
  datastore: v.optional(DatastoreSpec),
  concepts: v.optional(v.object({ file: PackPath })),
  defaults: v.optional(PackDefaults, {}),
  /** The pack's own sample images ([Note: domain guard]: the demo pack is right only on its samples). */
  samples: v.optional(v.object({ dir: PackPath })),
  files: v.pipe(
    v.array(v.object({ path: PackPath, bytes: v.pipe(v.number(), v.integer(), v.minValue(0)), sha256: Sha256 })),
    v.minLength(1)
  ),
  provenance: v.optional(v.unknown()),
  metrics: v.optional(v.unknown())
})
export type PackJson = v.InferOutput<typeof PackJson>

/** Every pack-relative file that pack.json refers to (each must be listed in `files`). */
export function referencedFiles(p: PackJson): string[] {
  const out = new Set<string>([p.tokenizer.file, p.models.image.file, p.models.text.file])
  if (p.tokenizer.config) out.add(p.tokenizer.config)
  for (const d of p.decoders) {
    out.add(d.file)
    if (!isPcmDecoder(d) && d.cache) out.add(d.cache.file)
  }
  for (const a of Object.values(p.arrays)) if (a) out.add(a.file)
  if (p.datastore) out.add(p.datastore.captions)
  if (isCompactDatastore(p.datastore)) {
    out.add(p.datastore.vectors)
    for (const f of p.datastore.index?.files ?? []) out.add(f)
    if (p.datastore.index?.centre) out.add(p.datastore.index.centre)
  }
  if (p.concepts) out.add(p.concepts.file)
  return [...out]
}
