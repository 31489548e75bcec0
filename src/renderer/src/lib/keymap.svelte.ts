// Renderer. Remappable keyboard shortcuts with conflict detection, stored in localStorage. A binding is a
// normalised combo such as "Ctrl+J", "Alt+ArrowRight" or "E"; Cmd on macOS counts as Ctrl.
export interface ActionDef {
  id: string
  label: string
  defaults: string[]
  /** Where the shortcut works: 'view' = image view (not while typing), 'any' = also inside text fields. */
  scope: 'view' | 'any'
}

export const ACTIONS: ActionDef[] = [
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

const STORAGE_KEY = 'keymap.v1'
const MODIFIER_KEYS = new Set(['Control', 'Shift', 'Alt', 'Meta'])

export function comboOf(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): string | null {
  if (MODIFIER_KEYS.has(e.key)) return null
  const key = e.key.length === 1 ? e.key.toUpperCase() : e.key === ' ' ? 'Space' : e.key
  const parts: string[] = []
  if (e.ctrlKey || e.metaKey) parts.push('Ctrl')
  if (e.altKey) parts.push('Alt')
  // Shift is part of the combo only for non-character keys (Shift+J and "J" differ; "?" already has it).
  if (e.shiftKey && key.length > 1) parts.push('Shift')
  parts.push(key)
  return parts.join('+')
}

/** Actions sharing a combo (every scope includes the image view, so any shared combo is a conflict). */
export function conflicts(bindings: Record<string, string[]>): { combo: string; actions: string[] }[] {
  // A local working table, not UI state.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  const byCombo = new Map<string, string[]>()
  for (const a of ACTIONS) for (const c of bindings[a.id] ?? []) byCombo.set(c, [...(byCombo.get(c) ?? []), a.id])
  return [...byCombo].filter(([, ids]) => ids.length > 1).map(([combo, actions]) => ({ combo, actions }))
}

export class Keymap {
  bindings = $state<Record<string, string[]>>(Keymap.load())

  static defaults(): Record<string, string[]> {
    return Object.fromEntries(ACTIONS.map((a) => [a.id, [...a.defaults]]))
  }

  static load(): Record<string, string[]> {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Record<string, string[]>
      return { ...Keymap.defaults(), ...saved }
    } catch {
      return Keymap.defaults()
    }
  }

  save(): void {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(this.bindings))
  }

  set(actionId: string, combos: string[]): void {
    this.bindings = { ...this.bindings, [actionId]: combos }
    this.save()
  }

  reset(): void {
    this.bindings = Keymap.defaults()
    this.save()
  }

  /** The action bound to this key event, honouring scope (view-only actions do not fire while typing). */
  match(e: KeyboardEvent, inField: boolean): string | null {
    const combo = comboOf(e)
    if (!combo) return null
    for (const a of ACTIONS) {
      if (!(this.bindings[a.id] ?? []).includes(combo)) continue
      if (a.scope === 'view' && inField && !combo.startsWith('Alt+') && !combo.startsWith('Ctrl+')) continue
      return a.id
    }
    return null
  }

  label(actionId: string): string {
    return (this.bindings[actionId] ?? []).join(' / ') || 'unbound'
  }
}
