// Any process (plain TypeScript: main, serve, CLI, renderer). [Note: caption whitespace] The one rule for
// how a caption (or a tag) is stored: every whitespace run becomes one space, then the ends are trimmed.
// The contract's CaptionText and TagText apply it at the boundary, the captions repository again before
// every insert (it is also called from jobs and review without the contract), and the job runner uses it
// to find the stored row of a candidate; review/replace.ts `clean` is the same rule with position maps.

/** `text` with whitespace runs collapsed to one space and the ends trimmed. */
export function normalizeCaption(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** Whether `text` is empty once normalised (nothing but whitespace). */
export function isBlankCaption(text: string): boolean {
  return normalizeCaption(text).length === 0
}
