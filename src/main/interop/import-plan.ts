// Main process (plain Node). From the records an importer read to a plan (what would change for each
// image, with counts and conflicts: the preview) and from a plan to the store (apply).
// [Note: import provenance] An imported caption is accepted through CaptionsRepo.accept like a typed one,
// so the previous accepted text is superseded and kept (history, undo); its source is
// `{ kind: 'human', method: 'imported:<format>', params: { file } }` — the captions table allows only the
// kinds human and model, and the text was written by a person or tool outside the studio, so the method
// carries the `imported:<format>` provenance and the file it came from.
// [Note: import conflicts] An image whose accepted caption differs from the imported one is a conflict:
// kept unless the request says overwrite; a kept conflict's imported text is stored as a candidate, so it
// can still be reviewed and accepted by hand. Further captions of an image (more lines, more annotations)
// are candidates too. Keywords are only ever added (review repo addTag, kind keyword), never removed.
import type { CaptionSource } from '@shared/contract/captions'
import { IMPORT_LIST_LIMIT, type ImportRequest, type ImportSummary } from '@shared/contract/interop'
import type { CaptionsRepo } from '../store/captions-repo'
import type { DB } from '../store/db'
import type { ReviewRepo } from '../store/review-repo'
import type { LibraryIndex } from './library-index'
import type { ImportFormat, ImportIssue, SourceRead } from './types'

export interface PlanDeps {
  db: DB
  captions: CaptionsRepo
  review: ReviewRepo
}

export interface PlannedImage {
  imageId: number
  file: string
  /** The text to accept (new caption, or a conflict being replaced); null = keep the current one. */
  accept: string | null
  candidates: string[]
  keywords: string[]
}

export interface ImportPlan {
  summary: ImportSummary
  items: PlannedImage[]
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim()

function pushLimited<T>(list: T[], item: T): void {
  if (list.length < IMPORT_LIST_LIMIT) list.push(item)
}

export function planImport(deps: PlanDeps, index: LibraryIndex, read: SourceRead, req: ImportRequest): ImportPlan {
  const summary: ImportSummary = {
    format: req.format,
    applied: false,
    files: read.files,
    records: read.records.length,
    images: 0,
    newCaptions: 0,
    sameCaptions: 0,
    conflicts: 0,
    replaced: 0,
    candidates: 0,
    keywords: 0,
    empty: read.empty,
    unmatched: 0,
    errors: read.errors.length,
    conflictList: [],
    unmatchedList: [],
    errorList: read.errors.slice(0, IMPORT_LIST_LIMIT)
  }
  const unmatched = (i: ImportIssue) => {
    summary.unmatched++
    pushLimited(summary.unmatchedList, i)
  }
  // Group the records by the image they match; a sidecar matched by full name outranks one by stem.
  const groups = new Map<number, { relPath: string; recs: { rank: number; rec: SourceRead['records'][number] }[] }>()
  for (const rec of read.records) {
    const m = index.match(rec.target, req.rootId)
    const at = { file: rec.file, ...(rec.where ? { where: rec.where } : {}) }
    if (!m.ok) {
      unmatched({ ...at, message: m.reason })
      continue
    }
    const g = groups.get(m.image.id) ?? { relPath: m.image.relPath, recs: [] }
    g.recs.push({ rank: rec.target.kind === 'sidecar' && !m.exact ? 1 : 0, rec })
    groups.set(m.image.id, g)
  }
  const tagsByImage = existingKeywords(deps.db)
  const items: PlannedImage[] = []
  for (const [imageId, g] of groups) {
    let recs = g.recs
    if (recs.some((r) => r.rec.target.kind === 'sidecar')) {
      const best = Math.min(...recs.map((r) => r.rank))
      const first = recs.find((r) => r.rank === best)!.rec
      for (const r of recs) if (r.rank > best) unmatched({ file: r.rec.file, message: `${first.file} is used for ${g.relPath} (a sidecar with the full image name wins)` })
      recs = recs.filter((r) => r.rank === best)
    }
    const texts: string[] = []
    for (const r of recs) for (const c of r.rec.captions.map(norm)) if (c && !texts.includes(c)) texts.push(c)
    const incoming = texts[0] ?? null
    const current = deps.captions.accepted(imageId)?.text ?? null
    const item: PlannedImage = { imageId, file: recs[0]!.rec.file, accept: null, candidates: [], keywords: [] }
    let kept: string | null = null
    if (incoming !== null) {
      if (current === null) {
        summary.newCaptions++
        item.accept = incoming
      } else if (current === incoming) {
        summary.sameCaptions++
      } else {
        summary.conflicts++
        pushLimited(summary.conflictList, { imageId, relPath: g.relPath, current, incoming, file: item.file })
        if (req.overwrite) {
          summary.replaced++
          item.accept = incoming
        } else kept = incoming
      }
    }
    const open = new Set(deps.captions.forImage(imageId).candidates.map((c) => c.text))
    const final = item.accept ?? current
    item.candidates = [...(kept ? [kept] : []), ...texts.slice(1)].filter((t) => t !== final && !open.has(t))
    summary.candidates += item.candidates.length
    const have = tagsByImage.get(imageId) ?? new Set<string>()
    for (const k of recs.flatMap((r) => r.rec.keywords)) {
      const key = k.toLowerCase()
      if (have.has(key)) continue
      have.add(key)
      item.keywords.push(k)
    }
    summary.keywords += item.keywords.length
    summary.images++
    items.push(item)
  }
  return { summary, items }
}

function existingKeywords(db: DB): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>()
  for (const r of db.prepare(`SELECT image_id, tag FROM image_tags WHERE kind = 'keyword'`).all() as { image_id: number; tag: string }[]) {
    const s = out.get(r.image_id) ?? new Set<string>()
    s.add(r.tag.toLowerCase())
    out.set(r.image_id, s)
  }
  return out
}

/** Write a plan in one transaction (all or nothing) and return its summary as applied. */
export function applyPlan(deps: PlanDeps, plan: ImportPlan, format: ImportFormat): ImportSummary {
  const source = (file: string): CaptionSource => ({ kind: 'human', method: `imported:${format}`, params: { file } })
  const run = deps.db.transaction(() => {
    const byTag = new Map<string, { tag: string; ids: number[] }>()
    for (const it of plan.items) {
      if (it.accept !== null) deps.captions.accept(it.imageId, it.accept, source(it.file), {})
      if (it.candidates.length) deps.captions.addCandidates(it.imageId, it.candidates.map((text) => ({ text, source: source(it.file), scores: {} })))
      for (const k of it.keywords) {
        const e = byTag.get(k.toLowerCase()) ?? { tag: k, ids: [] }
        e.ids.push(it.imageId)
        byTag.set(k.toLowerCase(), e)
      }
    }
    let added = 0
    for (const e of byTag.values()) added += deps.review.addTag(e.ids, e.tag, 'keyword', 'human', null)
    return added
  })
  const keywords = run()
  return { ...plan.summary, applied: true, keywords }
}
