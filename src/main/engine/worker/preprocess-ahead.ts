// Engine worker (plain Node, sharp). Preprocessing started ahead of the request that needs it, so sharp's
// decode (libuv pool) overlaps the image encoder's session.run (ONNX Runtime's threads) of the batch before.
// [Note: preprocess ahead] Two users: the engine entry, which starts the next queued caption / embedImages
// request's files while the current request runs (a job sends its next chunk before this one's results are
// written, [Note: pipelined chunks]), and the engine's own batch loops (embedImages, captionFiles), which
// start piece k+1 before encoding piece k. Results are keyed by file and crop boxes and taken once; what is
// not taken (a cancelled request) is dropped oldest-first beyond `max` entries. A file changed on disk
// between the start and the take (at most one request earlier) is read as it was at the start. Failures are
// outcomes, as in preprocessMany: a corrupt file fails its own entry only. The engine uses it only where a core
// is left over beside ONNX Runtime's threads ([Note: overlap only with a spare core] in engine.ts).
import { StudioError } from '@shared/errors'
import type { Box } from '../pipeline/regions'
import type { PreprocessOutcome } from './preprocess'

export type RunPreprocess = (files: readonly string[], crops: readonly Box[] | undefined) => Promise<PreprocessOutcome[]>

const keyOf = (file: string, crops: readonly Box[] | undefined): string => `${file}\u0000${crops ? JSON.stringify(crops) : ''}`

export class PreprocessAhead {
  private readonly pending = new Map<string, Promise<PreprocessOutcome>>()

  constructor(private readonly run: RunPreprocess, private readonly max = 32) {}

  /** Entries started and not yet taken. */
  get size(): number {
    return this.pending.size
  }

  /** Start preprocessing these files now (those not already started); never throws, never blocks. */
  start(files: readonly string[], crops?: readonly Box[]): void {
    const todo = [...new Set(files.filter((f) => !this.pending.has(keyOf(f, crops))))]
    if (todo.length === 0) return
    const all = this.run(todo, crops)
    todo.forEach((file, i) => {
      const one = all.then(
        (r) => r[i]!,
        (err: unknown) => ({ ok: false as const, file, error: err instanceof StudioError ? err : new StudioError('decode_error', `${file}: ${String(err)}`) })
      )
      this.pending.set(keyOf(file, crops), one)
    })
    while (this.pending.size > this.max) this.pending.delete(this.pending.keys().next().value!)
  }

  /** Outcomes for these files in order: the ones started ahead, the rest preprocessed now. */
  async take(files: readonly string[], crops: readonly Box[] | undefined, signal?: AbortSignal): Promise<PreprocessOutcome[]> {
    if (signal?.aborted) throw new StudioError('cancelled', 'cancelled')
    const ahead = files.map((f) => {
      const k = keyOf(f, crops)
      const p = this.pending.get(k)
      if (p) this.pending.delete(k)
      return p
    })
    const missing = files.filter((_, i) => !ahead[i])
    const fresh = missing.length ? this.run(missing, crops) : Promise.resolve([])
    const now = await fresh
    let k = 0
    const out: PreprocessOutcome[] = []
    for (let i = 0; i < files.length; i++) out.push(ahead[i] ? await ahead[i]! : now[k++]!)
    if (signal?.aborted) throw new StudioError('cancelled', 'cancelled')
    return out
  }
}

/** Images per encoder run when a batch is split so decoding overlaps encoding (at least 4 per run). */
export function overlapPiece(n: number): number {
  return n <= 4 ? Math.max(1, n) : Math.max(4, Math.ceil(n / 4))
}

/**
 * Preprocess and encode `items` in pieces of `piece`, the next piece's preprocessing started before the
 * current piece is encoded. Results come back in order; a rejection of a piece started ahead is observed.
 */
export async function overlapped<T, P, R>(items: readonly T[], piece: number, prep: (items: readonly T[]) => Promise<P>, use: (prepared: P, items: readonly T[], start: number) => Promise<R[]>): Promise<R[]> {
  const out: R[] = []
  const slice = (s: number) => items.slice(s, s + piece)
  let next: Promise<P> | null = items.length ? prep(slice(0)) : null
  for (let s = 0; next; s += piece) {
    const current = await next
    next = s + piece < items.length ? prep(slice(s + piece)) : null
    next?.catch(() => undefined)
    out.push(...(await use(current, slice(s), s)))
  }
  return out
}
