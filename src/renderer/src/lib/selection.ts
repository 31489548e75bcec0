// Renderer. Multi-selection rules for the grid, kept apart from the grid's layout code: Ctrl/Cmd+click (or
// Space) toggles one image, Shift+click (or Shift+Space) selects the range from the anchor, Ctrl/Cmd+A
// selects every image of the view, Esc clears. The selection is a set of image ids (studio.selection).

export interface SelectionSet {
  has(id: number): boolean
  add(id: number): unknown
  delete(id: number): unknown
  clear(): void
}

export function toggle(sel: SelectionSet, id: number): void {
  if (sel.has(id)) sel.delete(id)
  else sel.add(id)
}

/** Select ids[from..to] (either order), added to what is already selected. */
export function selectRange(sel: SelectionSet, ids: readonly number[], from: number, to: number): void {
  const [a, b] = from <= to ? [from, to] : [to, from]
  for (let i = Math.max(0, a); i <= Math.min(ids.length - 1, b); i++) sel.add(ids[i]!)
}

export function selectAll(sel: SelectionSet, ids: readonly number[]): void {
  for (const id of ids) sel.add(id)
}
