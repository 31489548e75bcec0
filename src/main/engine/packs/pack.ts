// Engine worker / host (plain Node). Loading a pack: parse and validate pack.json, check internal
// consistency, verify every file's sha256 (verify.ts) *before* anything is loaded, then read the tokenizer,
// arrays and JSON side files. ONNX sessions are opened lazily by sessions.ts, which also checks each model's
// I/O contract against what pack.json declares.
import { describeIssues } from '@shared/contract/define'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import * as v from 'valibot'
import { StudioError } from '@shared/errors'
import { isCompactDatastore, isPcmDecoder, PackJson, referencedFiles, type AnyDecoderSpec, type ArraySpec, type DatastoreSource, type DecoderSpec, type ModelSpec, type PcmDecoderSpec } from './pack-schema'
import { openCompactDatastore, type CompactDatastore } from './datastore-reader'
import { vectorsLayout } from './datastore-format'
import { createTokenizer, type Tokenizer } from '../text/tokenizer'
import { VerifyCache, verifyFiles, type VerifyReport } from './verify'

export interface Matrix {
  data: Float32Array
  rows: number
  cols: number
}

export interface Concept {
  word: string
  category: string
}

export interface LoadedPack {
  dir: string
  json: PackJson
  tokenizer: Tokenizer
  /** The float32 datastore (`arrays.datastore` + a JSON caption list), searched by an exact scan. */
  datastore?: Matrix
  datastoreCaptions: string[]
  /** Its one optional source (every row). */
  datastoreSource?: DatastoreSource
  /** A compact datastore (`caption-studio-datastore/1`): int8 rows, captions blob, optional ANN index. */
  compactDatastore?: CompactDatastore
  concepts?: Matrix
  conceptList: Concept[]
  gapMean?: Float32Array
  gapStd?: Float32Array
  realignProcrustes?: Float32Array
  realignRidge?: Float32Array
  verify: VerifyReport
}

/** Read and validate pack.json only (no file checks). */
export async function readPackJson(dir: string): Promise<PackJson> {
  let raw: string
  try {
    raw = await readFile(join(dir, 'pack.json'), 'utf8')
  } catch {
    throw new StudioError('not_found', `no pack.json in ${dir}`)
  }
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (err) {
    throw new StudioError('model_error', `pack.json in ${dir} is not valid JSON: ${(err as Error).message}`)
  }
  const parsed = v.safeParse(PackJson, json)
  if (!parsed.success) throw new StudioError('model_error', `pack.json in ${dir} is invalid: ${describeIssues(parsed.issues)}`)
  checkConsistency(parsed.output)
  return parsed.output
}

function checkRoles(where: string, spec: ModelSpec): void {
  const names = new Set([...spec.inputs.map((t) => t.name), ...spec.outputs.map((t) => t.name)])
  for (const [role, name] of Object.entries(spec.roles)) {
    if (name !== undefined && !names.has(name)) throw new StudioError('model_error', `pack.json: ${where} role "${role}" names "${name}", which is not among its declared inputs/outputs`)
  }
}

/** Cross-field checks the schema cannot express. */
export function checkConsistency(p: PackJson): void {
  const listed = new Set(p.files.map((f) => f.path))
  for (const f of referencedFiles(p)) {
    if (!listed.has(f)) throw new StudioError('model_error', `pack.json: ${f} is used but not listed in "files" (it could not be verified)`)
  }
  checkRoles('models.image', p.models.image)
  checkRoles('models.text', p.models.text)
  const ids = new Set<string>()
  for (const d of p.decoders) {
    if (ids.has(d.id)) throw new StudioError('model_error', `pack.json: decoder id "${d.id}" appears twice`)
    ids.add(d.id)
    checkRoles(`decoder ${d.id}`, d)
    if (!isPcmDecoder(d) && d.cache) checkRoles(`decoder ${d.id} cache`, d.cache)
  }
  if (p.defaultDecoder !== undefined && !ids.has(p.defaultDecoder)) throw new StudioError('model_error', `pack.json: defaultDecoder "${p.defaultDecoder}" is not a declared decoder`)
  const d = p.embedDim
  const a = p.arrays
  const want: [string, ArraySpec | undefined, (s: number[]) => boolean, string][] = [
    ['datastore', a.datastore, (s) => s.length === 2 && s[1] === d, `[N, ${d}]`],
    ['concepts', a.concepts, (s) => s.length === 2 && s[1] === d, `[C, ${d}]`],
    ['gapMean', a.gapMean, (s) => s.length === 1 && s[0] === d, `[${d}]`],
    ['gapStd', a.gapStd, (s) => s.length === 1 && s[0] === d, `[${d}]`],
    ['realignProcrustes', a.realignProcrustes, (s) => s.length === 2 && s[0] === d && s[1] === d, `[${d}, ${d}]`],
    ['realignRidge', a.realignRidge, (s) => s.length === 2 && s[0] === d && s[1] === d, `[${d}, ${d}]`]
  ]
  for (const [name, spec, ok, shape] of want) {
    if (!spec) continue
    if (!ok(spec.shape)) throw new StudioError('model_error', `pack.json: arrays.${name} has shape [${spec.shape.join(', ')}], expected ${shape}`)
    const bytes = spec.shape.reduce((x, y) => x * y, 4)
    const file = p.files.find((f) => f.path === spec.file)
    if (file && file.bytes !== bytes) throw new StudioError('model_error', `pack.json: arrays.${name} (${spec.file}) is ${file.bytes} bytes, shape [${spec.shape.join(', ')}] needs ${bytes}`)
  }
  const ds = p.datastore
  if (isCompactDatastore(ds)) {
    if (a.datastore) throw new StudioError('model_error', 'pack.json: a compact datastore (datastore.format) keeps its vectors in datastore.vectors, not arrays.datastore')
    const listed = p.files.find((f) => f.path === ds.vectors)
    const need = vectorsLayout(ds.rows, d).bytes
    if (listed && listed.bytes !== need) throw new StudioError('model_error', `pack.json: datastore.vectors (${listed.path}) is ${listed.bytes} bytes, ${ds.rows} rows × ${d} need ${need}`)
  } else {
    if (a.datastore && !p.datastore) throw new StudioError('model_error', 'pack.json: arrays.datastore needs datastore.captions')
  }
  if (a.concepts && !p.concepts) throw new StudioError('model_error', 'pack.json: arrays.concepts needs concepts.file')
}

async function readF32(dir: string, spec: ArraySpec): Promise<Float32Array> {
  const buf = await readFile(join(dir, spec.file))
  const n = spec.shape.reduce((x, y) => x * y, 1)
  if (buf.byteLength !== n * 4) throw new StudioError('model_error', `${spec.file}: ${buf.byteLength} bytes, expected ${n * 4}`)
  // Copy into an aligned buffer (Buffer pools are not 4-byte aligned) and read little-endian explicitly.
  const out = new Float32Array(n)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

async function readJsonFile(dir: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, file), 'utf8'))
  } catch (err) {
    throw new StudioError('model_error', `${file}: not valid JSON (${(err as Error).message})`)
  }
}

const StringList = v.array(v.string())
const ConceptList = v.array(v.object({ word: v.string(), category: v.optional(v.string(), '') }))

export interface LoadOptions {
  cache?: VerifyCache
  signal?: AbortSignal
}

/** Validate, verify and read a pack. Nothing is loaded from a file whose sha256 did not match. */
export async function loadPack(dirIn: string, opts: LoadOptions = {}): Promise<LoadedPack> {
  const dir = resolve(dirIn)
  const json = await readPackJson(dir)
  const verify = await verifyFiles(dir, json.files, opts.cache ?? new VerifyCache(), opts.signal)
  const tc = json.tokenizer.config
  const tokenizerConfig = tc ? { json: await readJsonFile(dir, tc), file: tc } : undefined
  const tokenizer = createTokenizer(json.tokenizer.type, await readJsonFile(dir, json.tokenizer.file), json.tokenizer.file, tokenizerConfig)
  const pack: LoadedPack = { dir, json, tokenizer, datastoreCaptions: [], conceptList: [], verify }
  const a = json.arrays
  if (isCompactDatastore(json.datastore)) {
    pack.compactDatastore = await openCompactDatastore(dir, json.datastore, json.embedDim)
  } else if (a.datastore && json.datastore) {
    const data = await readF32(dir, a.datastore)
    pack.datastore = { data, rows: a.datastore.shape[0]!, cols: json.embedDim }
    const caps = v.safeParse(StringList, await readJsonFile(dir, json.datastore.captions))
    if (!caps.success || caps.output.length !== pack.datastore.rows) {
      throw new StudioError('model_error', `${json.datastore.captions}: expected a JSON array of ${pack.datastore.rows} strings (one per datastore row)`)
    }
    pack.datastoreCaptions = caps.output
    pack.datastoreSource = json.datastore.sources?.[0]
  }
  if (a.concepts && json.concepts) {
    const data = await readF32(dir, a.concepts)
    pack.concepts = { data, rows: a.concepts.shape[0]!, cols: json.embedDim }
    const list = v.safeParse(ConceptList, await readJsonFile(dir, json.concepts.file))
    if (!list.success || list.output.length !== pack.concepts.rows) {
      throw new StudioError('model_error', `${json.concepts.file}: expected ${pack.concepts.rows} entries {word, category} (one per concepts row)`)
    }
    pack.conceptList = list.output
  }
  if (a.gapMean) pack.gapMean = await readF32(dir, a.gapMean)
  if (a.gapStd) pack.gapStd = await readF32(dir, a.gapStd)
  if (a.realignProcrustes) pack.realignProcrustes = await readF32(dir, a.realignProcrustes)
  if (a.realignRidge) pack.realignRidge = await readF32(dir, a.realignRidge)
  return pack
}

/** Any decoder of the pack by id (default: the pack's default decoder). */
export function findAnyDecoder(pack: PackJson, id?: string): AnyDecoderSpec {
  const want = id ?? pack.defaultDecoder ?? pack.decoders[0]?.id
  const d = pack.decoders.find((x) => x.id === want)
  if (!d) {
    const known = pack.decoders.map((x) => x.id).join(', ') || 'none'
    throw new StudioError('not_found', `decoder "${want ?? ''}" not in pack ${pack.id} (decoders: ${known})`)
  }
  if (d.kind !== 'prefix-tokens' && d.kind !== 'pcm-net') throw new StudioError('unsupported', `decoder ${d.id}: kind "${d.kind}" is not supported (only "prefix-tokens" and "pcm-net")`)
  return d
}

/** A prefix-tokens decoder (the one that reads a single embedding). */
export function findDecoder(pack: PackJson, id?: string): DecoderSpec {
  const d = findAnyDecoder(pack, id)
  if (isPcmDecoder(d)) throw new StudioError('unsupported', `decoder ${d.id} is a pcm-net decoder: it reads image tokens and concepts, not a prefix embedding`)
  return d
}

/** A pcm-net decoder; checks that the pack can feed it (token output, concepts of the declared count). */
export function findPcmDecoder(pack: LoadedPack, id?: string): PcmDecoderSpec {
  const d = findAnyDecoder(pack.json, id)
  if (!isPcmDecoder(d)) throw new StudioError('unsupported', `decoder ${d.id} is not a pcm-net decoder`)
  if (!pack.json.models.image.roles.tokens) throw new StudioError('unsupported', `decoder ${d.id}: the pack's image encoder has no token output`)
  if (d.roles.concepts && (!pack.concepts || !d.mixup || d.mixup.conceptTopK > pack.concepts.rows)) {
    throw new StudioError('model_error', `decoder ${d.id}: mix-up needs the pack's concepts array with at least mixup.conceptTopK rows`)
  }
  return d
}
