// Any process (plain TypeScript: main, serve, CLI, renderer). [Note: caption whitespace] The one rule for
// how a caption (or a tag) is stored: every whitespace run (control characters count as whitespace) becomes
// one space, then the ends are trimmed.
// The contract's CaptionText and TagText apply it at the boundary, the captions repository again before
// every insert (it is also called from jobs and review without the contract), and the job runner uses it
// to find the stored row of a candidate; review/replace.ts `clean` is the same rule with position maps.

/** What counts as a space in a caption: whitespace and the control characters (C0, DEL, C1). A control
 *  character is invisible, and a NUL would cut the text short for SQLite's own functions (the tables' CHECKs
 *  measure `length(trim(text))`, which stops at a NUL: "\0a" failed a CHECK as an internal error). */
export const CAPTION_SPACE = /[\s\p{Cc}]/u

/** `text` with whitespace (and control character) runs collapsed to one space and the ends trimmed. */
export function normalizeCaption(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, ' ').trim()
}

/** Whether `text` is empty once normalised (nothing but whitespace). */
export function isBlankCaption(text: string): boolean {
  return normalizeCaption(text).length === 0
}
