// Shared by every process: the models domain (caption-engine packs: list, install, activate, verify).
// Install progress is pushed as `models.install` events (events.ts).
import * as v from 'valibot'
import { Empty, isAbsolutePath, op } from './define'

export const PackId = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'not a pack id'))

export const PackSummary = v.object({
  id: v.string(),
  version: v.string(),
  description: v.nullable(v.string()),
  licence: v.nullable(v.string()),
  dir: v.string(),
  origin: v.picklist(['bundled', 'installed']),
  active: v.boolean(),
  embedDim: v.number(),
  decoders: v.array(v.string()),
  /** null when pack.json is valid; otherwise why it cannot be used. File hashes are checked on activate/verify. */
  problem: v.nullable(v.string())
})
export type PackSummary = v.InferOutput<typeof PackSummary>

export const InstallSource = v.pipe(
  v.string(),
  v.minLength(1, 'a folder or an http(s) URL of a pack.json is required'),
  v.maxLength(4096),
  v.check((s) => !s.includes('\0'), 'source contains a NUL byte'),
  v.check((s) => /^https?:\/\//i.test(s) || isAbsolutePath(s), 'give an http(s) URL or an absolute folder path')
)

export const models = {
  'models.list': op(Empty, v.object({ packs: v.array(PackSummary), activeId: v.nullable(v.string()) }), 'Bundled and installed caption packs, and which one is active'),
  'models.install': op(
    v.object({ source: InstallSource, activate: v.optional(v.boolean(), false) }),
    v.object({ id: v.string(), version: v.string(), dir: v.string(), files: v.number(), bytes: v.number(), replaced: v.boolean() }),
    'Install a pack from a folder or a URL of its pack.json (sha256-verified, resumable; progress via models.install events)'
  ),
  'models.activate': op(v.object({ id: PackId }), v.object({ id: v.string(), provider: v.string(), verifyMs: v.number() }), 'Verify a pack and make it the active caption engine'),
  'models.verify': op(
    v.object({ id: PackId }),
    v.object({ id: v.string(), ok: v.boolean(), checked: v.number(), hashed: v.number(), ms: v.number(), problem: v.nullable(v.string()) }),
    'Re-check every file of a pack against its sha256'
  )
} as const
