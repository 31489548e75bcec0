// Renderer (plain TypeScript, no runes; unit-tested in test/renderer). The keyboard shortcut rules behind the
// remappable keymap (keymap.svelte.ts holds the bindings as state and in localStorage): the actions and
// their default keys, how a key event becomes a combo ("Ctrl+J", "Alt+ArrowRight", "E"; Cmd on macOS counts
// as Ctrl), which action a combo triggers in which scope, and which bindings conflict.
export interface ActionDef {
  id: string
  label: string
  defaults: string[]
  /** Where the shortcut works: 'view' = image view (not while typing), 'any' = also inside text fields. */
  scope: 'view' | 'any'
}

export type Bindings = Record<string, string[]>

export const ACTIONS: readonly ActionDef[] = [
  { id: 'prev', label: 'Previous image', defaults: ['ArrowLeft', 'Alt+ArrowLeft'], scope: 'view' },
  { id: 'next', label: 'Next image', defaults: ['ArrowRight', 'Alt+ArrowRight'], scope: 'view' },
  { id: 'nextUncaptioned', label: 'Next uncaptioned image', defaults: ['Ctrl+J'], scope: 'any' },
  { id: 'undo', label: 'Undo last caption change', defaults: ['Ctrl+Z'], scope: 'any' },
  { id: 'acceptCandidate', label: 'Accept selected candidate', defaults: ['Enter'], scope: 'view' },
  { id: 'edit', label: 'Edit selected candidate', defaults: ['E'], scope: 'view' },
  { id: 'reject', label: 'Reject selected candidate', defaults: ['R'], scope: 'view' },
  { id: 'candidateUp', label: 'Select previous candidate', defaults: ['ArrowUp'], scope: 'view' },
  { id: 'candidateDown', label: 'Select next candidate', defaults: ['ArrowDown'], scope: 'view' },
  { id: 'suggest', label: 'Suggest captions (run the model)', defaults: ['S'], scope: 'view' },
  { id: 'more', label: 'More candidates', defaults: ['M'], scope: 'view' },
  { id: 'heatmap', label: 'Toggle heatmap', defaults: ['H'], scope: 'view' },
  { id: 'back', label: 'Back to the grid', defaults: ['Escape'], scope: 'any' }
]

const MODIFIER_KEYS = new Set(['Control', 'Shift', 'Alt', 'Meta'])

export type KeyFacts = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>

export function comboOf(e: KeyFacts): string | null {
  if (MODIFIER_KEYS.has(e.key)) return null
  // (The space bar is checked first: as a one-character key it would otherwise become the combo " ".)
  const key = e.key === ' ' ? 'Space' : e.key.length === 1 ? e.key.toUpperCase() : e.key
  const parts: string[] = []
  if (e.ctrlKey || e.metaKey) parts.push('Ctrl')
  if (e.altKey) parts.push('Alt')
  // Shift is part of the combo only for non-character keys (Shift+J and "J" differ; "?" already has it).
  if (e.shiftKey && key.length > 1) parts.push('Shift')
  parts.push(key)
  return parts.join('+')
}

export function defaultBindings(): Bindings {
  return Object.fromEntries(ACTIONS.map((a) => [a.id, [...a.defaults]]))
}

/** Saved bindings (the localStorage text, or null) over the defaults; unreadable text means the defaults. */
export function parseBindings(saved: string | null): Bindings {
  try {
    const parsed: unknown = JSON.parse(saved ?? '{}')
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return defaultBindings()
    const valid = Object.entries(parsed).filter((e): e is [string, string[]] => Array.isArray(e[1]) && e[1].every((c) => typeof c === 'string'))
    return { ...defaultBindings(), ...Object.fromEntries(valid) }
  } catch {
    return defaultBindings()
  }
}

/** Actions sharing a combo (every scope includes the image view, so any shared combo is a conflict). */
export function conflicts(bindings: Bindings): { combo: string; actions: string[] }[] {
  const byCombo = new Map<string, string[]>()
  for (const a of ACTIONS) for (const c of bindings[a.id] ?? []) byCombo.set(c, [...(byCombo.get(c) ?? []), a.id])
  return [...byCombo].filter(([, ids]) => ids.length > 1).map(([combo, actions]) => ({ combo, actions }))
}

/** The action bound to this key event, honouring scope: view-only actions do not fire while typing in a
 *  field, unless the combo has Alt or Ctrl (Alt+→ moves on while typing). */
export function matchAction(bindings: Bindings, e: KeyFacts, inField: boolean): string | null {
  const combo = comboOf(e)
  if (!combo) return null
  for (const a of ACTIONS) {
    if (!(bindings[a.id] ?? []).includes(combo)) continue
    if (a.scope === 'view' && inField && !combo.startsWith('Alt+') && !combo.startsWith('Ctrl+')) continue
    return a.id
  }
  return null
}

export function labelOf(bindings: Bindings, actionId: string): string {
  return (bindings[actionId] ?? []).join(' / ') || 'unbound'
}
