// Renderer. State of the review side panel: the grid's review filters (score range, sort, tags, terms), the
// term-frequency list, the find & replace form with its last preview, and bulk actions on the selection.
// [Note: review filters] The panel owns the filter values; `apply()` hands them to the Studio, whose
// refreshAll() then lists ids with `review.query` instead of `library.listIds`. The status filter and the
// search box stay the toolbar's (studio.filter, studio.search), so both places always agree.
import { createContext } from 'svelte'
import type { OpInput, OpOutput } from '@shared/contract'
import type { ReviewSort, TagKind } from '@shared/contract/review'
import type { Studio } from './studio.svelte'

export type TermList = OpOutput<'review.terms'>
export type Preview = OpOutput<'review.replacePreview'>
export type ReplaceScope = 'all' | 'view' | 'selection'

export const SCORE_KEYS = [
  { id: 'clipS', label: 'CLIP-S' },
  { id: 'aclipS', label: 'aCLIP-S' },
  { id: 'score', label: 'ranking score' },
  { id: 'refClipS', label: 'RefCLIP-S' }
] as const

/** The app's one Review, set by App.svelte and read by the toolbar's toggle. */
export const [getReview, setReview] = createContext<Review>()

export class Review {
  open = $state(false)
  scoreKey = $state<string>('clipS')
  minScore = $state<number | null>(null)
  maxScore = $state<number | null>(null)
  /** Words in the accepted caption (set by the health view's length histogram). */
  minWords = $state<number | null>(null)
  maxWords = $state<number | null>(null)
  sort = $state<ReviewSort>('path')
  tags = $state<{ tag: string; kind?: TagKind }[]>([])
  terms = $state<string[]>([])
  notTerms = $state<string[]>([])

  termList = $state<TermList | null>(null)
  stopWords = $state(true)
  bigrams = $state(false)
  allTags = $state<OpOutput<'review.allTags'>>([])

  find = $state('')
  replace = $state('')
  regex = $state(false)
  matchCase = $state(false)
  scope = $state<ReplaceScope>('all')
  preview = $state<Preview | null>(null)
  busy = $state(false)
  /** The last bulk accept or replace, which `undoLast()` can take back in one call. */
  lastBulk = $state<{ label: string; items: { imageId: number; captionId: number; previousId: number | null }[] } | null>(null)
  /** The exact request the preview was made with; Apply sends it back (with the previewed caption ids). */
  private previewed: OpInput<'review.replacePreview'> | null = null

  active = $derived(
    this.sort !== 'path' || this.minScore !== null || this.maxScore !== null || this.minWords !== null || this.maxWords !== null || this.tags.length > 0 || this.terms.length > 0 || this.notTerms.length > 0
  )

  constructor(private readonly studio: Studio) {}

  /** Push the filters to the grid. */
  async apply(): Promise<void> {
    this.studio.review = this.active
      ? {
          scoreKey: this.scoreKey,
          minScore: this.minScore,
          maxScore: this.maxScore,
          minWords: this.minWords,
          maxWords: this.maxWords,
          sort: this.sort,
          tags: $state.snapshot(this.tags),
          terms: $state.snapshot(this.terms),
          notTerms: $state.snapshot(this.notTerms)
        }
      : null
    await this.studio.refreshAll()
  }

  async clear(): Promise<void> {
    this.minScore = this.maxScore = null
    this.minWords = this.maxWords = null
    this.sort = 'path'
    this.tags = []
    this.terms = []
    this.notTerms = []
    await this.apply()
  }

  /** Click on a term: filter the grid by it (or drop it when it is already a filter). */
  async toggleTerm(term: string): Promise<void> {
    this.terms = this.terms.includes(term) ? this.terms.filter((t) => t !== term) : [...this.terms, term]
    this.notTerms = this.notTerms.filter((t) => t !== term)
    await this.apply()
  }

  async excludeTerm(term: string): Promise<void> {
    this.notTerms = this.notTerms.includes(term) ? this.notTerms.filter((t) => t !== term) : [...this.notTerms, term]
    this.terms = this.terms.filter((t) => t !== term)
    await this.apply()
  }

  async loadTerms(): Promise<void> {
    const r = await this.studio.guard(() => this.studio.client.call('review.terms', { stopWords: this.stopWords, bigrams: this.bigrams, limit: 60 }))
    if (r) this.termList = r
  }

  async loadTags(): Promise<void> {
    const r = await this.studio.guard(() => this.studio.client.call('review.allTags', {}))
    if (r) this.allTags = r
  }

  private scopeIds(): number[] | undefined {
    if (this.scope === 'selection') return [...this.studio.selection]
    if (this.scope === 'view') return $state.snapshot(this.studio.ids)
    return undefined
  }

  async runPreview(): Promise<void> {
    const ids = this.scopeIds()
    if (ids && ids.length === 0) return this.studio.notify('error', this.scope === 'selection' ? 'Select images first' : 'The view is empty')
    const req: OpInput<'review.replacePreview'> = { find: this.find, replace: this.replace, regex: this.regex, flags: this.matchCase ? '' : 'i', ...(ids ? { ids } : {}) }
    this.busy = true
    const r = await this.studio.guard(() => this.studio.client.call('review.replacePreview', req))
    this.busy = false
    this.preview = r ?? null
    this.previewed = r ? req : null
  }

  async applyReplace(): Promise<void> {
    const p = this.preview
    const req = this.previewed
    if (!p || !req || p.changes.length === 0) return
    this.busy = true
    const r = await this.studio.guard(() => this.studio.client.call('review.replaceApply', { ...req, captionIds: p.changes.map((c) => c.captionId) }))
    this.busy = false
    if (!r) return
    this.preview = null
    this.previewed = null
    if (r.changed > 0) this.lastBulk = { label: `replace in ${r.changed} caption${r.changed === 1 ? '' : 's'}`, items: r.changes }
    const refused = r.skipped.length ? `; ${r.skipped.length} not changed (${r.skipped.map((s) => s.reason).filter((x, i, all) => all.indexOf(x) === i).join(', ')})` : ''
    this.studio.notify('info', `Replaced in ${r.changed} caption${r.changed === 1 ? '' : 's'}${refused}. History keeps the old text.`)
    await Promise.all([this.studio.refreshAll(), this.loadTerms()])
  }

  async bulkAccept(): Promise<void> {
    const ids = [...this.studio.selection]
    const r = await this.studio.guard(() => this.studio.client.call('review.bulkAccept', { ids }))
    if (!r) return
    if (r.accepted.length > 0) this.lastBulk = { label: `accept of ${r.accepted.length} candidate${r.accepted.length === 1 ? '' : 's'}`, items: r.accepted }
    const why = r.skipped.length ? ` (${r.skipped.length} skipped: already accepted or no candidate)` : ''
    this.studio.notify('info', `Accepted the best candidate of ${r.accepted.length} image${r.accepted.length === 1 ? '' : 's'}${why}`)
    await this.studio.refreshAll()
  }

  async undoLast(): Promise<void> {
    const last = this.lastBulk
    if (!last) return
    const r = await this.studio.guard(() => this.studio.client.call('review.undo', { items: last.items }))
    if (!r) return
    this.lastBulk = null
    const kept = r.skipped.length ? `; ${r.skipped.length} changed since and kept` : ''
    this.studio.notify('info', `Undid the ${last.label}: ${r.restored} restored${kept}`)
    await Promise.all([this.studio.refreshAll(), this.loadTerms()])
  }

  async bulkReject(target: 'candidates' | 'accepted'): Promise<void> {
    const ids = [...this.studio.selection]
    const r = await this.studio.guard(() => this.studio.client.call('review.bulkReject', { ids, target }))
    if (!r) return
    this.studio.notify('info', `Rejected ${r.rejected} ${target === 'accepted' ? 'accepted caption' : 'candidate'}${r.rejected === 1 ? '' : 's'} on ${r.images} image${r.images === 1 ? '' : 's'}`)
    await this.studio.refreshAll()
  }

  async addKeyword(tag: string): Promise<boolean> {
    const ids = [...this.studio.selection]
    const r = await this.studio.guard(() => this.studio.client.call('review.addTag', { imageIds: ids, tag }))
    if (!r) return false
    this.studio.notify('info', `Keyword “${tag.trim()}” added to ${r.added} image${r.added === 1 ? '' : 's'}`)
    await this.loadTags()
    return true
  }
}
