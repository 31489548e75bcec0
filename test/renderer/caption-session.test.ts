// The image view's captioning state machine (src/renderer/src/lib/caption-session.ts) against a scripted
// studio: load, suggest once per image, accept and move on, edit, reject, drafts, undo, live scoring, the
// keymap actions, and replies that arrive after the user moved to another image.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Caption } from '../../src/shared/contract/captions'
import { CaptionSession, initialSessionState, type FocusTarget, type SessionHost, type SessionState } from '../../src/renderer/src/lib/caption-session'

function caption(id: number, imageId: number, text: string, status: Caption['status'] = 'candidate'): Caption {
  return { id, imageId, text, status, source: { kind: status === 'candidate' ? 'model' : 'human' }, scores: {}, parentId: null, createdAt: '', updatedAt: '' }
}

interface Deferred<T> {
  promise: Promise<T>
  resolve(v: T): void
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** A studio whose client answers from per-image tables; every call is recorded. */
class FakeStudio {
  currentId: number | null = null
  ids = [1, 2, 3]
  engine: SessionHost['engine'] = { active: { provider: 'cpu' } as never, problem: null }
  calls: { op: string; input: Record<string, unknown> }[] = []
  notes: [string, string][] = []
  accepts: { imageId: number; text: string; from?: number; scores?: Record<string, number> }[] = []
  steps: number[] = []
  closed = 0
  undos = 0
  accepted = new Map<number, string>()
  stored = new Map<number, Caption[]>()
  suggestions = new Map<number, Caption[]>()
  /** When set, captions.suggest waits for it. */
  suggestGate: Deferred<void> | null = null
  nextId = 100

  get currentIndex(): number {
    return this.currentId === null ? -1 : this.ids.indexOf(this.currentId)
  }
  get engineReady(): boolean {
    return this.engine?.active != null
  }
  client = {
    call: async (op: string, input: Record<string, unknown>): Promise<unknown> => {
      this.calls.push({ op, input })
      const imageId = input.imageId as number
      switch (op) {
        case 'captions.forImage': {
          const acc = this.accepted.get(imageId)
          const accepted = acc ? caption(this.nextId++, imageId, acc, 'accepted') : null
          const candidates = this.stored.get(imageId) ?? []
          return { accepted, candidates, history: [...(accepted ? [accepted] : []), ...candidates] }
        }
        case 'captions.suggest': {
          await this.suggestGate?.promise
          const candidates = this.suggestions.get(imageId) ?? []
          this.stored.set(imageId, candidates)
          return { candidates, result: { imageId, packId: 'fake', caption: candidates[0]?.text ?? '', candidates: [], concepts: [], regions: null, timings: {}, options: {} } }
        }
        case 'engine.regionSimilarity':
          return { imageId, heatmap: { kind: 'crops', boxes: [], weights: [] }, captions: (input.captions as string[]).map((c, i) => ({ caption: c, global: 0.1, regions: [i, i + 1] })) }
        case 'engine.score':
          return { imageId, scores: (input.captions as string[]).map((c) => ({ caption: c, cos: 0.3, clipS: 0.75, aclipS: 0.5, quality: 1 })) }
        case 'captions.reject':
          return caption(input.captionId as number, this.currentId!, 'rejected text', 'rejected')
        case 'review.addTag':
          return { added: 1 }
        default:
          throw new Error(`unexpected ${op}`)
      }
    }
  } as unknown as SessionHost['client']
  notify(kind: string, text: string) {
    this.notes.push([kind, text])
  }
  guard<T>(work: () => Promise<T>): Promise<T | undefined> {
    return work().catch((err: Error) => void this.notify('error', err.message))
  }
  async accept(imageId: number, text: string, from?: number, scores?: Record<string, number>) {
    this.accepts.push({ imageId, text, ...(from !== undefined ? { from } : {}), ...(scores ? { scores } : {}) })
    this.accepted.set(imageId, text)
    return true
  }
  async undo() {
    this.undos++
  }
  step(delta: number) {
    this.steps.push(delta)
    const i = Math.min(this.ids.length - 1, Math.max(0, this.currentIndex + delta))
    this.currentId = this.ids[i]!
  }
  close() {
    this.closed++
  }
  async jumpToNextUncaptioned() {}
  async refreshEngine() {}
  count(op: string, imageId?: number) {
    return this.calls.filter((c) => c.op === op && (imageId === undefined || c.input.imageId === imageId)).length
  }
}

let studio: FakeStudio
let s: SessionState
let session: CaptionSession
let focused: FocusTarget[]

const settle = () => new Promise((r) => setTimeout(r, 0))

/** What ImageView's effects do when the open image changes. */
async function openImage(id: number) {
  studio.currentId = id
  session.open(id)
  await settle()
  if (s.loadedId === id && studio.engineReady) session.enrich(id)
  await settle()
}

beforeEach(() => {
  studio = new FakeStudio()
  s = initialSessionState()
  focused = []
  session = new CaptionSession(s, studio, (t) => focused.push(t), { scoreDelayMs: 50, random: () => 0.5 })
})

afterEach(() => {
  session.dispose()
  vi.useRealTimers()
})

describe('caption session', () => {
  it('suggests once for an uncaptioned image, selects the best candidate and focuses the list', async () => {
    studio.suggestions.set(1, [caption(11, 1, 'a red square'), caption(12, 1, 'a red circle')])
    await openImage(1)
    expect(studio.count('captions.suggest', 1)).toBe(1)
    expect(s.candidates.map((c) => c.text)).toEqual(['a red square', 'a red circle'])
    expect(s.selected).toBe(0)
    expect(s.result?.packId).toBe('fake')
    // the region map of the new candidates is fetched, and the selected candidate's values are shown
    expect(session.simValues).toEqual([0, 1])
    session.enrich(1)
    await settle()
    expect(studio.count('captions.suggest', 1)).toBe(1)
    // focus went to the field on load (no candidates yet)
    expect(focused).toEqual(['field'])
  })

  it('a keyboard selection moves the heatmap legend to the new candidate even with the pointer resting on the old one', async () => {
    studio.suggestions.set(1, [caption(11, 1, 'a red square'), caption(12, 1, 'a red circle'), caption(13, 1, 'a blue square')])
    await openImage(1)
    // a click on the first candidate leaves the pointer over it
    s.hovered = 0
    s.selected = 0
    expect(session.focusText).toBe('a red square')
    session.act('candidateDown', false)
    expect(s.selected).toBe(1)
    expect(session.focusText).toBe('a red circle')
    expect(session.simValues).toEqual([1, 2])
    session.act('candidateDown', false)
    expect(session.focusText).toBe('a blue square')
    expect(session.simValues).toEqual([2, 3])
  })

  it("shows a pcm-net candidate's mix-up map while it is selected or hovered, and region similarity otherwise", async () => {
    const pcm = caption(13, 1, 'a red circle')
    pcm.source = { kind: 'model', method: 'decoder', params: { decoder: 'pcm', decoderKind: 'pcm-net', mixMap: { grid: [2, 2], mixed: [{ patch: 3, concept: 'red' }] } } }
    studio.suggestions.set(1, [caption(11, 1, 'a red square'), pcm])
    await openImage(1)
    expect(session.focusMix).toBeNull()
    expect(session.simValues).toEqual([0, 1])
    s.hovered = 1
    expect(session.focusMix?.cells).toEqual([-1, -1, -1, 0])
    expect(session.focusMix?.concepts.map((c) => c.word)).toEqual(['red'])
    s.hovered = -1
    expect(session.focusMix).toBeNull()
    session.act('candidateDown', false)
    expect(s.selected).toBe(1)
    expect(session.focusMix?.concepts.map((c) => c.word)).toEqual(['red'])
    s.hovered = 0
    expect(session.focusMix).toBeNull()
    expect(session.simValues).toEqual([0, 1])
  })

  it('does not suggest for a captioned image, and fetches region maps (not suggestions) for stored candidates', async () => {
    studio.accepted.set(1, 'done already')
    studio.stored.set(2, [caption(21, 2, 'a blue square')])
    await openImage(1)
    expect(s.text).toBe('done already')
    expect(session.dirty).toBe(false)
    await openImage(2)
    expect(studio.count('captions.suggest')).toBe(0)
    expect(studio.count('engine.regionSimilarity', 2)).toBe(1)
    expect(focused.at(-1)).toBe('list')
  })

  it('ignores a second suggest while one runs, and drops a reply for an image the user has left', async () => {
    studio.suggestions.set(1, [caption(11, 1, 'late for image 1')])
    studio.suggestGate = deferred()
    studio.currentId = 1
    session.open(1)
    await settle()
    session.enrich(1)
    expect(session.busy).toBe(true)
    void session.suggest(false)
    expect(studio.count('captions.suggest')).toBe(1)
    // move on while image 1's suggestion is still running: image 2 is not blocked by it
    studio.stored.set(2, [caption(21, 2, 'image 2 candidate')])
    await openImage(2)
    expect(session.busy).toBe(false)
    studio.suggestGate.resolve()
    await settle()
    expect(s.candidates.map((c) => c.text)).toEqual(['image 2 candidate'])
    expect(s.result).toBeNull()
  })

  it('"more" asks for 16 noise samples with a fresh seed and retrieval', async () => {
    studio.accepted.set(1, 'x')
    await openImage(1)
    await session.suggest(true)
    expect(studio.calls.find((c) => c.op === 'captions.suggest')!.input.options).toEqual({ noiseSamples: 16, seed: 500_000_000, retrieval: true })
  })

  it('refuses to suggest without an engine, saying why', async () => {
    studio.engine = { active: null, problem: 'no pack installed' }
    studio.accepted.set(1, 'x')
    await openImage(1)
    await session.suggest(false)
    expect(studio.count('captions.suggest')).toBe(0)
    expect(studio.notes).toContainEqual(['error', 'no pack installed'])
  })

  it('accepting a candidate stores it with its id and opens the next image; on the last image it reloads', async () => {
    studio.stored.set(1, [caption(11, 1, 'a red square')])
    await openImage(1)
    expect(session.act('acceptCandidate', false)).toBe('handled')
    await settle()
    expect(studio.accepts).toEqual([{ imageId: 1, text: 'a red square', from: 11 }])
    expect(studio.currentId).toBe(2)
    studio.stored.set(3, [caption(31, 3, 'last one')])
    await openImage(3)
    const loads = studio.count('captions.forImage', 3)
    await session.acceptCandidate(s.candidates[0]!)
    expect(studio.steps).toEqual([1])
    expect(studio.count('captions.forImage', 3)).toBe(loads + 1)
    expect(s.saved).toBe('last one')
  })

  it('edit puts the candidate in the field; accepting the edited text sends the candidate id and the live score', async () => {
    vi.useFakeTimers()
    studio.stored.set(1, [caption(11, 1, 'a red square')])
    studio.currentId = 1
    session.open(1)
    await vi.runAllTimersAsync()
    expect(session.act('edit', false)).toBe('handled')
    expect(s.text).toBe('a red square')
    expect(s.editingFrom).toBe(11)
    expect(focused.at(-1)).toBe('field-end')
    s.text = 'a red square, small'
    session.scheduleScore(s.text, 1, true)
    session.scheduleScore(s.text, 1, true)
    await vi.advanceTimersByTimeAsync(60)
    expect(studio.count('engine.score')).toBe(1)
    expect(session.shownScore).toEqual({ text: 'a red square, small', clipS: 0.75, aclipS: 0.5 })
    await session.acceptText()
    expect(studio.accepts.at(-1)).toEqual({ imageId: 1, text: 'a red square, small', from: 11, scores: { clipS: 0.75, aclipS: 0.5 } })
    expect(s.editingFrom).toBeNull()
  })

  it('a stale live score is not shown or sent once the text changed', async () => {
    vi.useFakeTimers()
    studio.accepted.set(1, 'old')
    studio.currentId = 1
    session.open(1)
    await vi.runAllTimersAsync()
    s.text = 'typed'
    session.scheduleScore(s.text, 1, true)
    await vi.advanceTimersByTimeAsync(60)
    s.text = 'typed more'
    expect(session.shownScore).toBeNull()
    await session.acceptText()
    expect(studio.accepts.at(-1)).toEqual({ imageId: 1, text: 'typed more' })
  })

  it('never accepts an empty caption', async () => {
    studio.accepted.set(1, '')
    await openImage(1)
    s.text = '   '
    await session.acceptText()
    expect(studio.accepts).toEqual([])
    expect(studio.notes.at(-1)?.[0]).toBe('error')
  })

  it('reject removes the candidate, keeps the selection in range and puts the rejection in the history', async () => {
    studio.stored.set(1, [caption(11, 1, 'one'), caption(12, 1, 'two')])
    await openImage(1)
    session.act('candidateDown', false)
    expect(s.selected).toBe(1)
    session.act('candidateDown', false)
    expect(s.selected).toBe(1)
    expect(session.act('reject', false)).toBe('handled')
    await settle()
    expect(s.candidates.map((c) => c.id)).toEqual([11])
    expect(s.selected).toBe(0)
    expect(s.history[0]).toMatchObject({ id: 12, status: 'rejected' })
    session.act('candidateUp', false)
    expect(s.selected).toBe(0)
  })

  it('keeps unsaved typing as a per-image draft across navigation, and drops it once accepted', async () => {
    studio.accepted.set(1, 'saved one')
    studio.accepted.set(2, 'saved two')
    await openImage(1)
    s.text = 'half-typed'
    expect(session.dirty).toBe(true)
    session.go(1)
    await openImage(studio.currentId!)
    expect(s.text).toBe('saved two')
    session.go(-1)
    await openImage(studio.currentId!)
    expect(s.text).toBe('half-typed')
    await session.acceptText()
    studio.currentId = 1
    await openImage(1)
    expect(s.text).toBe('half-typed')
    expect(session.dirty).toBe(false)
  })

  it('Ctrl+Z in a field with unsaved typing is left to the field; otherwise it undoes, reloads and focuses the field', async () => {
    studio.accepted.set(1, 'saved')
    await openImage(1)
    s.text = 'typing'
    expect(session.act('undo', true)).toBeNull()
    expect(studio.undos).toBe(0)
    s.text = 'saved'
    const loads = studio.count('captions.forImage', 1)
    expect(session.act('undo', true)).toBe('handled')
    await settle()
    expect(studio.undos).toBe(1)
    expect(studio.count('captions.forImage', 1)).toBe(loads + 1)
    expect(focused.at(-1)).toBe('field')
  })

  it('Esc leaves the field first, then the view; H toggles the heatmap; concept chips extend the caption', async () => {
    studio.accepted.set(1, 'a square')
    await openImage(1)
    expect(session.act('back', true)).toBe('blur')
    expect(studio.closed).toBe(0)
    expect(session.act('back', false)).toBe('handled')
    expect(studio.closed).toBe(1)
    expect(session.act('heatmap', false)).toBe('handled')
    expect(s.heatmapOn).toBe(false)
    session.addWord('red')
    expect(s.text).toBe('a square red')
    expect(session.wordCount).toBe(3)
    await session.addKeyword('red')
    expect(studio.calls.at(-1)).toEqual({ op: 'review.addTag', input: { imageIds: [1], tag: 'red', kind: 'keyword' } })
    expect(session.act('nonsense', false)).toBeNull()
  })

  it('typing while the captions load is not overwritten by the loaded caption', async () => {
    studio.accepted.set(1, 'from the store')
    studio.currentId = 1
    session.open(1)
    s.text = 'typed before the load finished'
    await settle()
    expect(s.saved).toBe('from the store')
    expect(s.text).toBe('typed before the load finished')
  })
})
