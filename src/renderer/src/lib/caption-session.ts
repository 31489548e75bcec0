// Renderer (plain TypeScript, no runes; unit-tested in test/renderer). The image view's captioning state
// machine: loading an image's captions, suggesting (once per image, and on demand), accepting typed text or
// a candidate and moving on, editing and rejecting candidates, unsaved drafts per image, undo, the typed
// text's live CLIP score, and which keymap action does what. ImageView.svelte owns only the DOM: it hands
// in `$state(initialSessionState())`, so every write here is reactive there, and implements `focus`.
// [Note: one image at a time] The user may move on while a request for the previous image is in flight;
// every reply is checked against the image open *now* before it is applied, so a late answer never lands
// on the wrong image, and a suggestion running for one image never blocks another's.
import type { Caption } from '@shared/contract/captions'
import type { OpInput, OpName, OpOutput } from '@shared/contract'
import { mixMapOf, type MixMapView } from './mix-map'

export type SuggestResult = OpOutput<'captions.suggest'>['result']
export type RegionSim = OpOutput<'engine.regionSimilarity'>
export interface TypedScore {
  text: string
  clipS: number
  aclipS?: number
}

export interface SessionState {
  /** The caption field. */
  text: string
  /** The accepted caption of the open image ('' when none). */
  saved: string
  /** The candidate the field's text was taken from by "edit", if any. */
  editingFrom: number | null
  /** Newest first. */
  history: Caption[]
  candidates: Caption[]
  result: SuggestResult | null
  regionSim: RegionSim | null
  selected: number
  hovered: number
  heatmapOn: boolean
  /** The image a suggestion is running for. */
  busyFor: number | null
  /** The image whose captions are loaded (null while loading). */
  loadedId: number | null
  typedScore: TypedScore | null
}

export function initialSessionState(): SessionState {
  return { text: '', saved: '', editingFrom: null, history: [], candidates: [], result: null, regionSim: null, selected: -1, hovered: -1, heatmapOn: true, busyFor: null, loadedId: null, typedScore: null }
}

/** What the session needs from the studio (lib/studio.svelte.ts's Studio provides all of it). */
export interface SessionHost {
  readonly client: { call<K extends OpName>(op: K, input: OpInput<K>): Promise<OpOutput<K>> }
  readonly currentId: number | null
  readonly currentIndex: number
  readonly ids: readonly number[]
  readonly engineReady: boolean
  readonly engine: OpOutput<'engine.status'> | null
  notify(kind: 'info' | 'error', text: string): void
  guard<T>(work: () => Promise<T>): Promise<T | undefined>
  accept(imageId: number, text: string, fromCandidateId?: number, scores?: Record<string, number>): Promise<boolean>
  undo(): Promise<void>
  step(delta: number): void
  close(): void
  jumpToNextUncaptioned(): Promise<void>
  refreshEngine(): Promise<void>
}

/** 'list' / 'field': once the DOM shows the new state; 'field-end': the field, caret after the text. */
export type FocusTarget = 'list' | 'field' | 'field-end'

/** What a keymap action asks of the caller: prevent the key's default, also leave the text field, or
 *  nothing (the key is not ours here, e.g. Ctrl+Z inside a field with unsaved typing is the field's undo). */
export type ActionOutcome = 'handled' | 'blur' | null

export interface SessionOptions {
  /** How long typing must pause before the text is scored (default 400 ms). */
  scoreDelayMs?: number
  /** Seeds of "more" suggestions (default Math.random). */
  random?: () => number
}

export class CaptionSession {
  /** Unsaved typing per image; read only on navigation, so deliberately not reactive. */
  private readonly drafts = new Map<number, string>()
  /** Images whose suggestions or region maps were already fetched. */
  private readonly enriched = new Set<number>()
  private scoreTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly s: SessionState,
    private readonly host: SessionHost,
    private readonly focus: (target: FocusTarget) => void,
    private readonly opts: SessionOptions = {}
  ) {}

  get busy(): boolean {
    return this.s.busyFor !== null && this.s.busyFor === this.host.currentId
  }

  get dirty(): boolean {
    return this.s.text.trim() !== this.s.saved.trim()
  }

  /** The live score, only while it belongs to the text in the field. */
  get shownScore(): TypedScore | null {
    const t = this.s.typedScore
    return t && t.text === this.s.text.trim() ? t : null
  }

  get wordCount(): number {
    const t = this.s.text.trim()
    return t ? t.split(/\s+/).length : 0
  }

  /** The suggestion's subregion weights, else the stored candidates' region map. */
  get heatmap(): SuggestResult['regions'] | RegionSim['heatmap'] | null {
    return this.s.result?.regions ?? this.s.regionSim?.heatmap ?? null
  }

  /** The candidate under the pointer, else the selected one. */
  get focused(): Caption | undefined {
    return this.s.candidates[this.s.hovered >= 0 ? this.s.hovered : this.s.selected]
  }

  get focusText(): string | undefined {
    return this.focused?.text
  }

  /** The focused candidate's mix-up map when a pcm-net decoder wrote it (the heatmap then shows that map). */
  get focusMix(): MixMapView | null {
    return mixMapOf(this.focused)
  }

  /** Per-region similarity of the focused candidate, when the region map has it. */
  get simValues(): number[] | null {
    const text = this.focusText
    if (!text || !this.s.regionSim) return null
    return this.s.regionSim.captions.find((c) => c.caption === text)?.regions ?? null
  }

  /** The open image changed: reset to its draft and load its captions. */
  open(id: number): void {
    const s = this.s
    s.loadedId = null
    s.text = this.drafts.get(id) ?? ''
    s.saved = ''
    s.editingFrom = null
    s.candidates = []
    s.result = null
    s.regionSim = null
    s.selected = -1
    void this.load(id)
  }

  /** Load the image's captions. On arrival the candidate list takes focus when there are candidates, else
   *  the field; a reload of the same image (after undo) leaves focus to the caller. Typing that happened
   *  while loading is kept. */
  async load(id: number, moveFocus = true): Promise<void> {
    const s = this.s
    const baseline = s.text
    const r = await this.host.guard(() => this.host.client.call('captions.forImage', { imageId: id }))
    if (!r || this.host.currentId !== id) return
    s.saved = r.accepted?.text ?? ''
    if (s.text === baseline) s.text = this.drafts.get(id) ?? s.saved
    s.history = r.history.slice().reverse()
    s.candidates = r.candidates
    s.selected = s.candidates.length ? 0 : -1
    s.loadedId = id
    if (moveFocus) this.focus(s.candidates.length ? 'list' : 'field')
  }

  /** Once both the image and the engine are ready (the engine may finish loading later): suggest for an
   *  image that has no caption and no candidates yet, or fetch the region maps of its stored candidates.
   *  Once per image. */
  enrich(id: number): void {
    if (this.enriched.has(id)) return
    this.enriched.add(id)
    if (this.s.candidates.length) void this.loadRegionSimilarity(id, this.s.candidates.map((c) => c.text))
    else if (!this.s.saved) void this.suggest(false)
  }

  async suggest(more: boolean): Promise<void> {
    const id = this.host.currentId
    if (id === null || this.busy) return
    if (!this.host.engineReady) return this.host.notify('error', this.host.engine?.problem ?? 'No caption model is active (see Models)')
    const s = this.s
    s.busyFor = id
    // "More": 16 fresh noise samples and the datastore's nearest captions (retrieval is off in the demo
    // pack's measured defaults, but its candidates are worth seeing when the user asks for more).
    // A pack without a decoder (the photo pack) captions by retrieval alone: "More" asks for more captions.
    const decoders = this.host.engine?.active?.decoders
    const options = !more ? {} : decoders && decoders.length === 0 ? { retrieval: true, retrievalK: 20 } : { noiseSamples: 16, seed: Math.floor((this.opts.random ?? Math.random)() * 1e9), retrieval: true }
    const r = await this.host.guard(() => this.host.client.call('captions.suggest', { imageId: id, options }))
    if (s.busyFor === id) s.busyFor = null
    if (!r || this.host.currentId !== id) return
    s.result = r.result
    if (!this.host.engine?.active?.provider) void this.host.refreshEngine()
    s.candidates = r.candidates
    s.selected = s.candidates.length ? 0 : -1
    void this.loadRegionSimilarity(id, s.candidates.map((c) => c.text))
  }

  private async loadRegionSimilarity(id: number, texts: string[]): Promise<void> {
    if (!this.host.engineReady || texts.length === 0) return
    const r = await this.host.client.call('engine.regionSimilarity', { imageId: id, captions: texts.slice(0, 50) }).catch(() => null)
    if (r && this.host.currentId === id) this.s.regionSim = r
  }

  /** Keep unsaved typing as this image's draft (or drop the draft when the field matches the caption). */
  leave(): void {
    const id = this.host.currentId
    if (id === null) return
    if (this.dirty) this.drafts.set(id, this.s.text)
    else this.drafts.delete(id)
  }

  go(delta: number): void {
    this.leave()
    this.host.step(delta)
  }

  back(): void {
    this.leave()
    this.host.close()
  }

  async acceptText(): Promise<void> {
    const id = this.host.currentId
    if (id === null) return
    if (!this.s.text.trim()) return this.host.notify('error', 'Type a caption first (an empty caption is never saved)')
    const sc = this.shownScore
    const scores = sc ? { clipS: sc.clipS, ...(sc.aclipS !== undefined ? { aclipS: sc.aclipS } : {}) } : undefined
    if (await this.host.accept(id, this.s.text, this.s.editingFrom ?? undefined, scores)) await this.afterAccept(id)
  }

  async acceptCandidate(c: Caption): Promise<void> {
    const id = this.host.currentId
    if (id === null) return
    if (await this.host.accept(id, c.text, c.id)) await this.afterAccept(id)
  }

  /** After an accept: the draft is gone, and the next image opens (the last one reloads instead). */
  private async afterAccept(id: number): Promise<void> {
    this.drafts.delete(id)
    this.s.editingFrom = null
    if (this.host.currentIndex < this.host.ids.length - 1) this.host.step(1)
    else await this.load(id)
  }

  editCandidate(c: Caption): void {
    this.s.text = c.text
    this.s.editingFrom = c.id
    this.focus('field-end')
  }

  async rejectCandidate(c: Caption): Promise<void> {
    const r = await this.host.guard(() => this.host.client.call('captions.reject', { captionId: c.id }))
    if (!r) return
    const s = this.s
    s.candidates = s.candidates.filter((x) => x.id !== c.id)
    s.selected = Math.min(s.selected, s.candidates.length - 1)
    s.history = [r, ...s.history.filter((h) => h.id !== r.id)]
  }

  /** A concept chip: append the word to the caption. */
  addWord(word: string): void {
    const t = this.s.text.trim()
    this.s.text = t ? `${t} ${word}` : word
    this.focus('field')
  }

  /** A concept chip's "+": keep the word as a keyword of the image. */
  async addKeyword(word: string): Promise<void> {
    const id = this.host.currentId
    if (id === null) return
    const ok = await this.host.guard(() => this.host.client.call('review.addTag', { imageIds: [id], tag: word, kind: 'keyword' }))
    if (ok) this.host.notify('info', `Keyword “${word}” saved`)
  }

  /** Undo the last caption change anywhere, then show this image's captions again; the field takes focus
   *  (after undoing, the caption is usually retyped). */
  async undo(): Promise<void> {
    await this.host.undo()
    if (this.host.currentId !== null) await this.load(this.host.currentId, false)
    this.focus('field')
  }

  /** Score the field's text for the open image once typing pauses; the component calls this whenever the
   *  text, the image or the engine's readiness changes. */
  scheduleScore(text: string, id: number | null, engineReady: boolean): void {
    clearTimeout(this.scoreTimer)
    const t = text.trim()
    if (!t || id === null || !engineReady) return
    this.scoreTimer = setTimeout(async () => {
      const r = await this.host.client.call('engine.score', { imageId: id, captions: [t] }).catch(() => null)
      const s0 = r?.scores[0]
      if (s0 && this.host.currentId === id) this.s.typedScore = { text: t, clipS: s0.clipS, ...(s0.aclipS !== undefined ? { aclipS: s0.aclipS } : {}) }
    }, this.opts.scoreDelayMs ?? 400)
  }

  /** Runs a keymap action (keys.ts ids) for the open image. */
  act(action: string, inField: boolean): ActionOutcome {
    if (this.host.currentId === null) return null
    const s = this.s
    const cand = s.candidates[s.selected]
    switch (action) {
      case 'prev':
      case 'next':
        this.go(action === 'next' ? 1 : -1)
        return 'handled'
      case 'nextUncaptioned':
        this.leave()
        void this.host.jumpToNextUncaptioned()
        return 'handled'
      case 'undo':
        if (inField && this.dirty) return null
        void this.undo()
        return 'handled'
      case 'back':
        if (inField) return 'blur'
        this.back()
        return 'handled'
      case 'candidateUp':
      case 'candidateDown':
        if (!s.candidates.length) return null
        s.selected = Math.max(0, Math.min(s.candidates.length - 1, s.selected + (action === 'candidateDown' ? 1 : -1)))
        // [Note: focused candidate] the keys move the selection; a pointer left resting on the candidate clicked
        // before would otherwise keep the heatmap and its legend on that one (hovered wins over selected) until
        // it moves. The pointer takes over again when it enters a candidate.
        s.hovered = -1
        return 'handled'
      case 'acceptCandidate':
      case 'edit':
      case 'reject':
        // actions on the selected candidate
        if (!cand) return null
        if (action === 'edit') this.editCandidate(cand)
        else void (action === 'reject' ? this.rejectCandidate(cand) : this.acceptCandidate(cand))
        return 'handled'
      case 'suggest':
      case 'more':
        void this.suggest(action === 'more')
        return 'handled'
      case 'heatmap':
        s.heatmapOn = !s.heatmapOn
        return 'handled'
      default:
        return null
    }
  }

  dispose(): void {
    clearTimeout(this.scoreTimer)
  }
}
