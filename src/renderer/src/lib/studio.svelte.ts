// Renderer. The studio's UI state as Svelte 5 runes: the ordered id list of the current filter (the grid
// virtualises over it), a cache of image summaries, the open image, counts, scan progress, and the caption
// undo stack. All data comes from the client; nothing here knows the host.
import { SvelteMap } from 'svelte/reactivity'
import type { Counts, ImageFilter, ImageSummary, Root } from '@shared/contract/library'
import type { OpOutput, StudioEvent } from '@shared/contract'
import type { ReviewFilters } from '@shared/contract/review'
import type { StudioClient } from './client'
import { coalesce } from '@shared/coalesce'
import { Jobs } from './jobs.svelte'
import { SvelteSet } from 'svelte/reactivity'

/** How long caption changes are gathered before the status-bar counts are refreshed (see [Note: coalesced counts]). */
const COUNTS_COALESCE_MS = 250

interface UndoEntry {
  imageId: number
  captionId: number
  previousId: number | null
}

export interface Toast {
  kind: 'info' | 'error'
  text: string
}

export class Studio {
  filter = $state<ImageFilter>('all')
  search = $state('')
  ids = $state<number[]>([])
  counts = $state<Counts | null>(null)
  roots = $state<Root[]>([])
  currentId = $state<number | null>(null)
  scanning = $state<StudioEvent & { type: 'library.scan' } | null>(null)
  toast = $state<Toast | null>(null)
  /** The active caption pack and provider, or why there is none. */
  engine = $state<OpOutput<'engine.status'> | null>(null)
  /** [Note: domain guard] whether the active pack fits the library, and where the demo library is. */
  domain = $state<OpOutput<'models.domainCheck'> | null>(null)
  readonly summaries = new SvelteMap<number, ImageSummary>()
  /** Multi-selection in the grid (Ctrl/Shift+click), used by batch and bulk actions. */
  readonly selection = new SvelteSet<number>()
  /** Filters of the review panel (see lib/review.svelte.ts); null: the grid lists with library.listIds. */
  review = $state<ReviewFilters | null>(null)
  /** Score of each listed image on the review key (parallel to `ids`), while review filters are on. */
  scores = $state.raw<(number | null)[] | null>(null)
  /** The search box ranks by meaning (CLIP text embedding) instead of matching file names and captions. */
  semanticMode = $state(false)
  /** "More like this": the grid is ranked by similarity to this image (its file name for the chip). */
  likeImage = $state<{ id: number; name: string } | null>(null)
  /** Cosine similarity of each listed image to the query (parallel to `ids`), while a semantic search is on. */
  similarities = $state.raw<number[] | null>(null)
  readonly jobs: Jobs
  private undoStack: UndoEntry[] = []
  /** Library refreshes requested by events, coalesced (the first request's delay wins). */
  private libraryRefresh = coalesce(() => void this.refreshAll(), 0)
  /** [Note: coalesced counts] The status-bar counts are one scan of the whole library. A batch job changes
   *  captions image after image (and an accept arrives twice: the reply and the event), so changes within
   *  COUNTS_COALESCE_MS share one refresh instead of scanning once per image. */
  private countsRefresh = coalesce(() => void this.refreshCounts(), COUNTS_COALESCE_MS)

  currentIndex = $derived(this.currentId === null ? -1 : this.ids.indexOf(this.currentId))
  current = $derived(this.currentId === null ? undefined : this.summaries.get(this.currentId))

  constructor(readonly client: StudioClient) {
    this.jobs = new Jobs(client)
  }

  start(): () => void {
    const off = this.client.onEvent((e) => {
      this.onEvent(e)
      this.jobs.onEvent(e)
      // The provider becomes known once a session ran (e.g. at the end of a batch).
      if (e.type === 'job.progress' && e.state === 'done' && !this.engine?.active?.provider) void this.refreshEngine()
    })
    void this.refreshAll()
    void this.guard(() => this.jobs.refresh())
    void this.refreshEngine()
    return off
  }

  private onEvent(e: StudioEvent): void {
    if (e.type === 'library.scan') {
      this.scanning = e.phase === 'walking' || e.phase === 'thumbnails' ? e : null
      if (e.phase !== 'walking') this.libraryRefresh.request(0)
    } else if (e.type === 'library.changed') this.libraryRefresh.request(400)
    else if (e.type === 'captions.changed') void this.reloadSummary(e.imageId)
    else if (e.type === 'engine.changed') void this.refreshEngine()
    else if (e.type === 'engine.crashed') {
      // [Note: crash isolation] now (the crash count), and once the backoff has passed (restarted or not)
      void this.refreshEngine()
      setTimeout(() => void this.refreshEngine(), e.restartInMs + 250)
    }
  }

  notify(kind: Toast['kind'], text: string): void {
    this.toast = { kind, text }
    setTimeout(() => {
      if (this.toast?.text === text) this.toast = null
    }, kind === 'error' ? 8000 : 3000)
  }

  async guard<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work()
    } catch (err) {
      this.notify('error', (err as Error).message)
      return undefined
    }
  }

  async refreshAll(): Promise<void> {
    await this.guard(async () => {
      const query = this.review ? { ...this.review, status: this.filter, search: this.search } : null
      const semantic = this.semanticQuery()
      const [{ ids, scores, similarities }, counts, roots] = await Promise.all([
        semantic
          ? this.client.call('search.query', { ...semantic, status: this.filter, review: this.review, limit: 500 }).then((r) => ({ ids: r.ids, scores: null, similarities: r.similarities }))
          : query
            ? this.client.call('review.query', query).then((r) => ({ ...r, similarities: null }))
            : this.client.call('library.listIds', { filter: this.filter, search: this.search }).then((r) => ({ ...r, scores: null, similarities: null })),
        this.client.call('library.counts', {}),
        this.client.call('library.listRoots', {})
      ])
      this.ids = ids
      this.scores = scores
      this.similarities = similarities
      // The selection follows the view: images filtered out are no longer selected.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup table, not state
      const visible = new Set(ids)
      for (const id of this.selection) if (!visible.has(id)) this.selection.delete(id)
      this.counts = counts
      this.roots = roots
      void this.refreshDomain()
      this.summaries.clear()
      // The open image must not lose its summary (the grid, which reloads what it shows, is hidden then).
      if (this.currentId !== null) void this.ensureSummaries([this.currentId])
    })
  }

  /** The semantic query the grid lists, if any: "more like this" first, else the search box in semantic mode. */
  private semanticQuery(): { likeImageId: number } | { text: string } | null {
    if (this.likeImage) return { likeImageId: this.likeImage.id }
    if (this.semanticMode && this.search.trim()) return { text: this.search.trim() }
    return null
  }

  /** Rank the grid by similarity to one image and go back to the grid. */
  async moreLikeThis(id: number): Promise<void> {
    const name = this.summaries.get(id)?.fileName ?? `image ${id}`
    this.likeImage = { id, name }
    this.currentId = null
    await this.refreshAll()
  }

  async clearLike(): Promise<void> {
    this.likeImage = null
    await this.refreshAll()
  }

  async refreshEngine(): Promise<void> {
    try {
      this.engine = await this.client.call('engine.status', {})
    } catch (err) {
      this.engine = { active: null, problem: (err as Error).message }
    }
    await this.refreshDomain()
  }

  async refreshDomain(): Promise<void> {
    this.domain = await this.client.call('models.domainCheck', {}).catch(() => null)
  }

  get engineReady(): boolean {
    return this.engine?.active != null
  }

  async refreshCounts(): Promise<void> {
    const counts = await this.guard(() => this.client.call('library.counts', {}))
    if (counts) this.counts = counts
  }

  async setFilter(filter: ImageFilter): Promise<void> {
    this.filter = filter
    await this.refreshAll()
  }

  /** Loads summaries for ids not yet cached (the grid calls this for its visible range). */
  async ensureSummaries(ids: readonly number[]): Promise<void> {
    const missing = ids.filter((id) => !this.summaries.has(id))
    for (let i = 0; i < missing.length; i += 400) {
      const chunk = missing.slice(i, i + 400)
      const rows = await this.guard(() => this.client.call('library.getImages', { ids: chunk }))
      for (const r of rows ?? []) this.summaries.set(r.id, r)
    }
  }

  async reloadSummary(id: number): Promise<void> {
    const rows = await this.guard(() => this.client.call('library.getImages', { ids: [id] }))
    const row = rows?.[0]
    if (row) this.summaries.set(id, row)
    this.countsRefresh.request()
  }

  async addRoot(path: string): Promise<boolean> {
    const root = await this.guard(() => this.client.call('library.addRoot', { path }))
    if (root) this.notify('info', `Scanning ${root.path}…`)
    await this.refreshAll()
    return root !== undefined
  }

  open(id: number): void {
    this.currentId = id
    void this.ensureSummaries(this.ids.slice(Math.max(0, this.ids.indexOf(id) - 2), this.ids.indexOf(id) + 3))
  }

  close(): void {
    this.currentId = null
  }

  step(delta: number): void {
    if (this.ids.length === 0) return
    const i = this.currentIndex < 0 ? 0 : Math.min(this.ids.length - 1, Math.max(0, this.currentIndex + delta))
    this.open(this.ids[i]!)
  }

  async jumpToNextUncaptioned(): Promise<void> {
    const r = await this.guard(() => this.client.call('library.nextUncaptioned', this.currentId ? { afterId: this.currentId } : {}))
    if (!r) return
    if (r.id === null) return this.notify('info', 'Every image has an accepted caption')
    if (!this.ids.includes(r.id)) {
      this.filter = 'all'
      await this.refreshAll()
    }
    this.open(r.id)
  }

  async accept(imageId: number, text: string, fromCandidateId?: number, scores?: Record<string, number>): Promise<boolean> {
    const r = await this.guard(() => this.client.call('captions.accept', { imageId, text, ...(fromCandidateId ? { fromCandidateId } : {}), ...(scores ? { scores } : {}) }))
    if (!r) return false
    if (r.changed) this.undoStack.push({ imageId, captionId: r.caption.id, previousId: r.previousId })
    await this.reloadSummary(imageId)
    return true
  }

  canUndo(): boolean {
    return this.undoStack.length > 0
  }

  /** Undo the last caption change (wherever it was) and show that image. */
  async undo(): Promise<void> {
    const last = this.undoStack.pop()
    if (!last) return this.notify('info', 'Nothing to undo')
    const r = await this.guard(() => this.client.call('captions.undo', last))
    if (!r) return
    await this.reloadSummary(last.imageId)
    if (this.currentId !== null) this.open(last.imageId)
    this.notify('info', r.restored ? `Restored “${r.restored.text}”` : 'Caption removed')
  }
}
