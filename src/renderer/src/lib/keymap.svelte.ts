// Renderer. The remappable keyboard shortcuts as Svelte state, stored in localStorage. The rules (actions,
// combos, scopes, conflicts) are plain functions in keys.ts.
import { defaultBindings, labelOf, matchAction, parseBindings, type Bindings } from './keys'

const STORAGE_KEY = 'keymap.v1'

export class Keymap {
  bindings = $state<Bindings>(Keymap.load())

  static defaults(): Bindings {
    return defaultBindings()
  }

  static load(): Bindings {
    try {
      return parseBindings(localStorage.getItem(STORAGE_KEY))
    } catch {
      return defaultBindings()
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
    this.bindings = defaultBindings()
    this.save()
  }

  /** The action bound to this key event, honouring scope (view-only actions do not fire while typing). */
  match(e: KeyboardEvent, inField: boolean): string | null {
    return matchAction(this.bindings, e, inField)
  }

  label(actionId: string): string {
    return labelOf(this.bindings, actionId)
  }
}
