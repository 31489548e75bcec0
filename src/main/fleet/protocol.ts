// Host side (plain Node: the studio's main / serve process, the CLI, and `caption-studio worker`). What travels
// through Redis between a studio (or the CLI) and the worker fleet, validated with valibot on both ends.
// [Note: fleet protocol] The producer puts *chunks* on one BullMQ queue (`caption-studio`, Redis key
// `bull:caption-studio:wait` — what the KEDA scaler watches): a chunk names a few images by the producer's
// absolute path plus their content sha256, the caption options and the pack identity (id, version and a
// fingerprint of pack.json, whose `files` list carries every file's sha256). The worker answers with one
// `result` job on the producer's own results queue (`replyTo`), whose job id is the chunk id, so a chunk
// answered twice while the first answer is unread is stored by Redis once, and one read later is refused
// by the producer's idempotency check. Pixels never travel: only paths, hashes and numbers do.
// [Note: result key] Every image's result carries `key = sha256(content hash, pack id@version#fingerprint,
// options hash)`, computed by the worker from what it checked itself (the file's bytes, its own pack); the
// producer stores a result only when the key equals the one it expects for that image now, and only once.
import { createHash } from 'node:crypto'
import * as v from 'valibot'
import { CaptionOptionsSchema, CaptionOutput } from '@shared/contract/engine'
import type { PackJson } from '../engine/packs/pack-schema'

export const CAPTION_QUEUE = 'caption-studio'
/** BullMQ's default key prefix: the wait list of the caption queue is `${BULL_PREFIX}:${CAPTION_QUEUE}:wait`. */
export const BULL_PREFIX = 'bull'
export const PROTOCOL_VERSION = 1

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex'))
const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(200), v.regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'))

export const PackIdentity = v.object({ id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)), version: v.pipe(v.string(), v.maxLength(100)), fingerprint: Hex64 })
export type PackIdentity = v.InferOutput<typeof PackIdentity>

export const FleetImage = v.object({
  /** The producer's handle for this image (the studio: image id; the CLI: input index). */
  ref: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The producer's absolute path; a worker maps it through its roots (roots.ts). */
  path: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
  /** sha256 of the file's bytes as the producer saw them. */
  hash: Hex64
})
export type FleetImage = v.InferOutput<typeof FleetImage>

export const FleetJobData = v.object({
  v: v.literal(PROTOCOL_VERSION),
  batchId: v.pipe(v.number(), v.integer(), v.minValue(0)),
  chunk: Name,
  replyTo: Name,
  pack: PackIdentity,
  options: CaptionOptionsSchema,
  optionsHash: Hex64,
  images: v.pipe(v.array(FleetImage), v.minLength(1), v.maxLength(256))
})
export type FleetJobData = v.InferOutput<typeof FleetJobData>

/** engine.caption's output without the studio's own fields: what a worker computes for one image. */
export const FleetCaption = v.omit(CaptionOutput, ['imageId', 'packId'])
export type FleetCaption = v.InferOutput<typeof FleetCaption>

const ErrorBody = v.object({ code: v.string(), message: v.pipe(v.string(), v.maxLength(4000)) })

export const FleetItemResult = v.variant('ok', [
  v.object({ ok: v.literal(true), ref: v.number(), key: Hex64, caption: FleetCaption }),
  v.object({ ok: v.literal(false), ref: v.number(), key: v.nullable(Hex64), error: ErrorBody })
])
export type FleetItemResult = v.InferOutput<typeof FleetItemResult>

export const FleetResultData = v.object({
  v: v.literal(PROTOCOL_VERSION),
  batchId: v.number(),
  chunk: Name,
  pack: PackIdentity,
  /** Which worker answered (`host:pid`) and on which start of the chunk (1 = first; a stalled chunk counts on). */
  worker: v.string(),
  attempt: v.number(),
  ms: v.number(),
  items: v.array(FleetItemResult)
})
export type FleetResultData = v.InferOutput<typeof FleetResultData>

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The pack's fingerprint: sha256 of its canonical pack.json, which lists every file with its sha256 (the
 *  engine verifies those on open), the defaults and the decoders; any change of files or settings changes it. */
export function packIdentity(json: PackJson): PackIdentity {
  return { id: json.id, version: json.version, fingerprint: sha256Hex(canonicalJson(json)) }
}

export const samePack = (a: PackIdentity, b: PackIdentity): boolean => a.id === b.id && a.version === b.version && a.fingerprint === b.fingerprint

export const describePack = (p: PackIdentity): string => `${p.id} ${p.version || '(no version)'} (fingerprint ${p.fingerprint.slice(0, 12)})`

export const optionsHash = (options: v.InferOutput<typeof CaptionOptionsSchema>): string => sha256Hex(canonicalJson(options))

/** [Note: result key] */
export function resultKey(contentHash: string, pack: PackIdentity, optsHash: string): string {
  return sha256Hex(`${contentHash}\n${pack.id}@${pack.version}#${pack.fingerprint}\n${optsHash}`)
}
