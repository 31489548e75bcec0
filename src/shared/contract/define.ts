// Shared by every process: the building blocks of the typed, runtime-validated contract.
import * as v from 'valibot'
import { normalizeCaption } from '../caption-text'

/** [Note: contract tiers] `public` operations are what the renderer uses: reachable over Electron IPC and
 *  serve HTTP. `internal` ones (waiting for scans or jobs, loading an arbitrary realignment matrix, the raw
 *  engine calls that the studio composes) are dispatched in-process by the CLI, the bench and tests; serve
 *  answers them only when started with the explicit test flag (`--test-ops`), Electron never. */
export type Tier = 'public' | 'internal'

export interface OperationDef<I extends v.GenericSchema = v.GenericSchema, O extends v.GenericSchema = v.GenericSchema> {
  readonly input: I
  readonly output: O
  readonly summary: string
  readonly tier: Tier
}

export function op<I extends v.GenericSchema, O extends v.GenericSchema>(
  input: I,
  output: O,
  summary: string,
  tier: Tier = 'public'
): OperationDef<I, O> {
  return { input, output, summary, tier }
}

export const Id = v.pipe(v.number(), v.integer(), v.minValue(1))
export const Empty = v.optional(v.object({}), {})
export const Ok = v.object({ ok: v.literal(true) })
/** [Note: absolute paths] Paths cross the contract absolute: `/…` (POSIX), `C:\…` or `C:/…`, `\\server\…` (Windows). A
 *  relative path would resolve against wherever the host process was started (serve's working folder,
 *  unknown to a browser user), so the host that knows the base (the CLI: the shell's folder) resolves it
 *  before calling. */
export function isAbsolutePath(s: string): boolean {
  return s.startsWith('/') || /^[A-Za-z]:[\\/]/.test(s) || s.startsWith('\\\\')
}

/** A filesystem path typed by a user: absolute, no NUL bytes, bounded length. */
export const UserPath = v.pipe(
  v.string(),
  v.minLength(1, 'a path is required'),
  v.maxLength(4096, 'path too long'),
  v.check((s) => !s.includes('\0'), 'path contains a NUL byte'),
  v.check(isAbsolutePath, 'give an absolute path (a relative one would depend on where the studio was started)')
)

/** [Note: bounded json] Free-form JSON a caller may store (a caption source's `params`) is bounded in depth
 *  and size before it is accepted: JSON.parse takes nesting far deeper than JSON.stringify can write back
 *  (a 5,000-deep object overflowed the stack when the caption was stored: an internal error, found by the
 *  contract fuzz). Measured iteratively, so measuring cannot overflow either. */
export function isBoundedJson(value: unknown, maxDepth = 32, maxNodes = 10_000): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  let nodes = 0
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!
    if (++nodes > maxNodes || depth > maxDepth) return false
    if (typeof x === 'number' && !Number.isFinite(x)) return false
    if (typeof x === 'object' && x !== null) for (const child of Object.values(x)) stack.push([child, depth + 1])
    else if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean' && x !== null) return false
  }
  return true
}

/** Caption-like text as it is stored ([Note: caption whitespace]): whitespace runs collapsed, ends trimmed,
 *  then never empty and at most `max` characters; `what` names it in the messages ("a tag cannot be empty"). */
export function NormalizedText(what: string, max: number) {
  return v.pipe(v.string(), v.transform(normalizeCaption), v.minLength(1, `a ${what} cannot be empty`), v.maxLength(max, `${what} too long`))
}

/** A short, human-readable summary of validation issues: "path: message; …" (at most five). */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const path = i.path?.map((p) => String(p.key)).join('.')
      return path ? `${path}: ${i.message}` : i.message
    })
    .join('; ')
}
