// Main process (plain Node). The background thumbnail queue of library scans: images are thumbnailed (a
// full decode, so files whose pixels are broken are found) while the walk goes on, a few at a time, with what
// the grid shows first.
// [Note: visible first] The renderer tells the host which image ids its grid shows (`library.visible`);
// `prioritize` moves those to the front of the queue, so the thumbnails on screen are made before the rest of
// a 50,000-file import. (The /media/thumb route still makes a thumbnail on demand; Thumbnails.ensure shares
// one decode between the two.) Items are held in a Map (insertion order = FIFO) plus a list of ids to take
// first: adding, prioritizing and taking are O(1) amortised.
// [Note: thumbnail concurrency] sharp runs each decode on the libuv threadpool (4 threads by default) with
// libvips using every core inside it; the scan's file reads need that threadpool too. Two decodes in flight
// (one per core of the reference machine) leave threadpool slots to the reads. The 2 is a choice, not a
// measurement: the import bench sweeps the scan's `parallel`, not this.
import type { Thumbnails } from './thumbnails'

export interface ThumbItem {
  id: number
  hash: string
  /** Absolute path of the file to decode. */
  abs: string
}

/** A scan's share of the queue: it resolves once all of its items were processed. */
export interface ThumbGroup {
  add(item: ThumbItem): void
  /** Resolves when every added item was thumbnailed or failed. */
  settled(): Promise<void>
  /** Drops this group's items that have not started. */
  cancel(): void
  readonly pending: number
  /** Items whose decode failed (and whose row got the error). */
  readonly failed: number
}

interface Queued {
  item: ThumbItem
  group: Group
}

class Group implements ThumbGroup {
  pending = 0
  failed = 0
  private waiters: (() => void)[] = []
  constructor(private readonly queue: ThumbQueue) {}
  add(item: ThumbItem): void {
    if (this.queue.enqueue(item, this)) this.pending++
  }
  finished(): void {
    this.pending--
    if (this.pending === 0) for (const w of this.waiters.splice(0)) w()
  }
  settled(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve))
  }
  cancel(): void {
    this.queue.dropGroup(this)
  }
}

export class ThumbQueue {
  private readonly items = new Map<number, Queued>()
  private front: number[] = []
  private running = 0

  /**
   * @param thumbs read as `getThumbs()` at each decode (tests replace `ensure` to swap files mid-scan)
   * @param onFailure records why an image could not be decoded (its row's error); false when the row is gone
   */
  constructor(
    private readonly getThumbs: () => Thumbnails,
    private readonly onFailure: (item: ThumbItem, err: Error) => boolean,
    readonly concurrency = 2
  ) {}

  group(): ThumbGroup {
    return new Group(this)
  }

  get size(): number {
    return this.items.size
  }

  /** Move these ids (the grid's visible cells) to the front, in the order given. */
  prioritize(ids: readonly number[]): number {
    const known = ids.filter((id) => this.items.has(id))
    this.front = known.concat(this.front.filter((id) => !known.includes(id))).slice(0, 2000)
    return known.length
  }

  /** @internal by Group: false when the id is already queued (its first group keeps it). */
  enqueue(item: ThumbItem, group: Group): boolean {
    if (this.items.has(item.id)) return false
    this.items.set(item.id, { item, group })
    queueMicrotask(() => this.pump())
    return true
  }

  /** @internal by Group */
  dropGroup(group: Group): void {
    for (const [id, q] of this.items) {
      if (q.group !== group) continue
      this.items.delete(id)
      group.finished()
    }
  }

  /** The next item: a prioritized one still queued, else the oldest. */
  private take(): Queued | undefined {
    while (this.front.length > 0) {
      const id = this.front.shift()!
      const q = this.items.get(id)
      if (q) {
        this.items.delete(id)
        return q
      }
    }
    const first = this.items.entries().next()
    if (first.done) return undefined
    this.items.delete(first.value[0])
    return first.value[1]
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const q = this.take()
      if (!q) return
      this.running++
      void this.getThumbs()
        .ensure(q.item.hash, q.item.abs)
        .then(
          () => undefined,
          (err: unknown) => {
            try {
              if (this.onFailure(q.item, err instanceof Error ? err : new Error(String(err)))) q.group.failed++
            } catch (e) {
              process.stderr.write(`thumbnail failure of image ${q.item.id} not recorded: ${(e as Error).message}\n`)
            }
          }
        )
        .finally(() => {
          this.running--
          q.group.finished()
          this.pump()
        })
    }
  }
}
