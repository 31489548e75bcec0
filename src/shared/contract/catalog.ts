// Shared by every process: the model catalog and the pack builder ([Note: pinned catalog]). Public files
// the studio can fetch (pinned by revision, bytes and sha256), and `models.get`, which assembles a pack from
// a CLIP entry and a caption corpus as a persistent, resumable job (kind `pack-build`, see jobs.ts).
import * as v from 'valibot'
import { Empty, UserPath, op } from './define'
import { JobSummary } from './jobs'

const EntryId = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'not a catalog entry id'))

export const CatalogEntrySummary = v.object({
  id: v.string(),
  kind: v.picklist(['clip', 'corpus']),
  title: v.string(),
  licence: v.string(),
  caveat: v.nullable(v.string()),
  enables: v.string(),
  /** Bytes to download (null when the source states no exact size). */
  downloadBytes: v.nullable(v.number()),
  approxCaptions: v.nullable(v.number()),
  source: v.string(),
  files: v.array(v.object({ path: v.string(), bytes: v.nullable(v.number()) })),
  /** The catalog file it came from. */
  from: v.string(),
  /** clip entries: the pack a build installs, and whether it is installed. */
  packId: v.nullable(v.string()),
  installed: v.boolean()
})
export type CatalogEntrySummary = v.InferOutput<typeof CatalogEntrySummary>

export const CatalogOutput = v.object({
  entries: v.array(CatalogEntrySummary),
  catalogs: v.array(v.string()),
  problems: v.array(v.object({ file: v.string(), message: v.string() })),
  /** Where hub files come from (HF_ENDPOINT or huggingface.co). */
  hubEndpoint: v.string()
})

export const DomainCheckOutput = v.object({
  packId: v.nullable(v.string()),
  domain: v.nullable(v.string()),
  notice: v.nullable(v.string()),
  offer: v.nullable(v.picklist(['photo-pack'])),
  demoLibrary: v.nullable(v.string())
})

export const catalog = {
  'models.domainCheck': op(Empty, DomainCheckOutput, 'Does the active pack fit the library? (the demo pack knows only ShapesWorld); where the demo library is'),
  'models.catalog': op(Empty, CatalogOutput, 'Catalog entries (shipped and user catalogs) with licences, sizes and install state'),
  'models.addCatalog': op(
    v.pipe(
      v.object({
        /** A catalog file on the host's disk (CLI, serve with a typed path). */
        path: v.optional(UserPath),
        /** Or the file's text, as a browser file picker reads it (kept in the data folder). */
        text: v.optional(v.pipe(v.string(), v.maxLength(2_000_000, 'a catalog file is at most 2 MB'))),
        name: v.optional(v.pipe(v.string(), v.maxLength(200)))
      }),
      v.check((i) => (i.path === undefined) !== (i.text === undefined), 'give either path or text')
    ),
    CatalogOutput,
    'Add a user catalog (validated before it is remembered for this data folder)'
  ),
  'models.get': op(
    v.object({
      clipId: EntryId,
      corpusId: EntryId,
      maxCaptions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(10_000_000))),
      activate: v.optional(v.boolean(), true)
    }),
    JobSummary,
    'Assemble a photo pack on this machine: download and verify the pins, embed the corpus, install (a pack-build job)'
  )
} as const
