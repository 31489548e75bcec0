// Any process (pure). The valibot schema of a model catalog (`caption-studio-catalog/1`, docs/catalog.md):
// public files the studio can fetch and assemble into packs, each pinned by revision, size and sha256.
// [Note: pinned catalog] A catalog names *where* bytes come from (a hub repo at a revision, or a plain URL,
// optionally a member of a zip archive) and *what they must be* (bytes + sha256). Nothing is trusted by
// name: every file is hashed while it streams in and refused, with its path named, when it differs.
import * as v from 'valibot'
import { PackPath } from './pack-schema'

const Sha256 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'))
const EntryId = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'entry id must be lowercase letters, digits, ".", "_" or "-"'))
const HttpUrl = v.pipe(v.string(), v.maxLength(2048), v.regex(/^https?:\/\/[^\s]+$/i, 'must be an http(s) URL'))

export const CatalogFile = v.object({
  path: PackPath,
  /** Exact size; null only where the source states none (then the sha256 alone decides). */
  bytes: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))),
  sha256: Sha256,
  /** What the assembler uses the file for. */
  role: v.picklist(['config', 'preprocessor', 'tokenizer', 'tokenizer-config', 'vision-model', 'text-model', 'corpus'])
})
export type CatalogFile = v.InferOutput<typeof CatalogFile>

export const HubSource = v.object({
  hub: v.literal('huggingface'),
  repo: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, 'repo must be "owner/name"')),
  /** A full commit id: a branch name would let the bytes change under the pin. */
  revision: v.pipe(v.string(), v.regex(/^[0-9a-f]{40}$/, 'revision must be a 40-hex commit id'))
})

export const UrlSource = v.object({
  hub: v.literal('url'),
  url: HttpUrl,
  /** When the pinned files are members of an archive at `url` (e.g. COCO's annotations zip). */
  archive: v.optional(v.object({ format: v.literal('zip'), approxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))) }))
})

export const CatalogEntry = v.object({
  id: EntryId,
  kind: v.picklist(['clip', 'corpus']),
  title: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  source: v.variant('hub', [HubSource, UrlSource]),
  files: v.pipe(v.array(CatalogFile), v.minLength(1)),
  licence: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  /** One line shown next to the licence (e.g. the model card's "deployed use is out of scope"). */
  caveat: v.optional(v.pipe(v.string(), v.maxLength(400))),
  /** What the entry enables, in a sentence. */
  enables: v.pipe(v.string(), v.maxLength(400)),
  /** clip: the domain packs built from it serve. corpus: its format. */
  domain: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,40}$/))),
  format: v.optional(v.picklist(['coco-captions'])),
  /** corpus: shown with every retrieved caption (e.g. "COCO caption, CC BY 4.0"). */
  attribution: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** corpus: about how many captions it holds, as its source states (for the estimate shown before a build). */
  approxCaptions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  homepage: v.optional(HttpUrl)
})
export type CatalogEntry = v.InferOutput<typeof CatalogEntry>

export const Catalog = v.pipe(
  v.object({
    format: v.literal('caption-studio-catalog/1', 'unsupported catalog format (expected "caption-studio-catalog/1")'),
    version: v.pipe(v.string(), v.minLength(1), v.maxLength(40)),
    entries: v.pipe(v.array(CatalogEntry), v.maxLength(500))
  }),
  v.check((c) => new Set(c.entries.map((e) => e.id)).size === c.entries.length, 'entry ids must be unique'),
  v.check((c) => c.entries.every((e) => e.kind !== 'clip' || (['vision-model', 'text-model', 'tokenizer', 'preprocessor'] as const).every((r) => e.files.some((f) => f.role === r))), 'a clip entry needs vision-model, text-model, tokenizer and preprocessor files'),
  v.check((c) => c.entries.every((e) => e.kind !== 'corpus' || (e.files.some((f) => f.role === 'corpus') && !!e.format)), 'a corpus entry needs a format and a corpus file')
)
export type Catalog = v.InferOutput<typeof Catalog>
