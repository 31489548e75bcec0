// Main process / serve / CLI (plain Node). Find & replace over caption texts: compiles the user's pattern,
// finds every match and builds each new text with the spans of what was matched and what was inserted.
// [Note: regex sandbox] A user's regular expression can backtrack catastrophically ("(a+)+$"), and the host's
// one event loop serves every client. Matching therefore runs in a `vm` context with a timeout, which V8
// can interrupt even inside a regex; the replacement text is then built here from the match records
// (ECMAScript GetSubstitution: $$, $&, $`, $', $1..$99, $<name>), so no user pattern runs outside the sandbox.
import { runInNewContext } from 'node:vm'
import { CAPTION_SPACE } from '@shared/caption-text'
import { StudioError } from '@shared/errors'

export interface ReplaceOptions {
  find: string
  replace: string
  regex: boolean
  flags: string
}

export interface ReplaceOutcome {
  /** The new text, whitespace collapsed and trimmed as every stored caption is. */
  after: string
  beforeSpans: [number, number][]
  afterSpans: [number, number][]
}

/** [index, captures (match first), named groups] as produced inside the sandbox. */
type MatchRecord = [number, (string | undefined)[], Record<string, string | undefined> | null]

const MATCH_TIMEOUT_MS = 3000
const MAX_MATCHES_PER_TEXT = 10_000

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The pattern source and flags to run, after checking that they compile (a clear invalid_input if not). */
export function compile(opts: ReplaceOptions): { source: string; flags: string } {
  const source = opts.regex ? opts.find : escapeRegex(opts.find)
  const flags = `g${opts.flags}`
  try {
    new RegExp(source, flags)
  } catch (err) {
    throw new StudioError('invalid_input', `invalid regular expression: ${(err as Error).message}`)
  }
  return { source, flags }
}

const SANDBOX_SCRIPT = `(() => {
  const re = new RegExp(source, flags);
  return texts.map((t) => {
    const out = [];
    for (const m of t.matchAll(re)) {
      out.push([m.index, Array.from(m), m.groups ? Object.assign({}, m.groups) : null]);
      if (out.length >= max) break;
    }
    return out;
  });
})()`

function findMatches(texts: readonly string[], source: string, flags: string): MatchRecord[][] {
  try {
    return runInNewContext(SANDBOX_SCRIPT, { texts, source, flags, max: MAX_MATCHES_PER_TEXT }, { timeout: MATCH_TIMEOUT_MS }) as MatchRecord[][]
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new StudioError('invalid_input', `the regular expression took longer than ${MATCH_TIMEOUT_MS / 1000} s on these captions; simplify it`)
    }
    throw err
  }
}

/** ECMAScript GetSubstitution for one match. */
export function substitute(template: string, str: string, rec: MatchRecord): string {
  const [position, caps, named] = rec
  const matched = caps[0] ?? ''
  const m = caps.length - 1
  let out = ''
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!
    if (ch !== '$' || i + 1 >= template.length) {
      out += ch
      continue
    }
    const next = template[i + 1]!
    if (next === '$') {
      out += '$'
      i++
    } else if (next === '&') {
      out += matched
      i++
    } else if (next === '`') {
      out += str.slice(0, position)
      i++
    } else if (next === "'") {
      out += str.slice(position + matched.length)
      i++
    } else if (next >= '0' && next <= '9') {
      const d2 = template[i + 2]
      const two = d2 !== undefined && d2 >= '0' && d2 <= '9' ? Number(next + d2) : -1
      if (two >= 1 && two <= m) {
        out += caps[two] ?? ''
        i += 2
      } else if (Number(next) >= 1 && Number(next) <= m) {
        out += caps[Number(next)] ?? ''
        i++
      } else out += '$'
    } else if (next === '<' && named) {
      const close = template.indexOf('>', i + 2)
      if (close < 0) out += '$'
      else {
        out += named[template.slice(i + 2, close)] ?? ''
        i = close
      }
    } else out += '$'
  }
  return out
}

/** Collapse whitespace runs to one space and trim. `start[i]` is where raw position i lands in the cleaned text
 *  when a span starts there (whitespace: the next kept character), `end[i]` where a span ending (exclusive)
 *  at raw position i ends (just after the last kept character before it), so spans never grow a space. */
export function clean(raw: string): { text: string; start: number[]; end: number[] } {
  let text = ''
  let pending = false
  const start = new Array<number>(raw.length + 1)
  const end = new Array<number>(raw.length + 1)
  let run: number[] = []
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    end[i] = text.length
    if (CAPTION_SPACE.test(ch)) {
      pending = text.length > 0
      run.push(i)
      continue
    }
    if (pending) {
      text += ' '
      pending = false
    }
    for (const j of run) start[j] = text.length
    run = []
    start[i] = text.length
    text += ch
  }
  for (const j of run) start[j] = text.length
  start[raw.length] = text.length
  end[raw.length] = text.length
  return { text, start, end }
}

/** Replace in many texts at once; `null` for a text with no match. */
export function replaceAll(texts: readonly string[], opts: ReplaceOptions): (ReplaceOutcome | null)[] {
  const { source, flags } = compile(opts)
  const all = findMatches(texts, source, flags)
  return texts.map((before, k) => {
    const recs = all[k] ?? []
    if (recs.length === 0) return null
    let raw = ''
    let last = 0
    const beforeSpans: [number, number][] = []
    const rawSpans: [number, number][] = []
    for (const rec of recs) {
      const start = rec[0]
      const end = start + (rec[1][0] ?? '').length
      const piece = opts.regex ? substitute(opts.replace, before, rec) : opts.replace
      raw += before.slice(last, start)
      rawSpans.push([raw.length, raw.length + piece.length])
      raw += piece
      beforeSpans.push([start, end])
      last = end
    }
    raw += before.slice(last)
    const { text, start, end } = clean(raw)
    const afterSpans = rawSpans.map(([s, e]): [number, number] => {
      const a = start[s]!
      return [a, Math.max(a, end[e]!)]
    })
    return { after: text, beforeSpans, afterSpans }
  })
}
