// Grid multi-selection rules (src/renderer/src/lib/selection.ts) on a plain Set, as the grid uses them on
// studio.selection: toggle, ranges in either direction added to the selection and clamped to the view, all.
import { describe, expect, it } from 'vitest'
import { selectAll, selectRange, toggle } from '../../src/renderer/src/lib/selection'

describe('selection', () => {
  const ids = [10, 20, 30, 40, 50]

  it('toggle adds and removes one id', () => {
    const sel = new Set<number>()
    toggle(sel, 20)
    toggle(sel, 40)
    expect([...sel]).toEqual([20, 40])
    toggle(sel, 20)
    expect([...sel]).toEqual([40])
  })

  it('a range adds ids[from..to] in either order to what is selected, clamped to the list', () => {
    const sel = new Set<number>([10])
    selectRange(sel, ids, 3, 2)
    expect([...sel].sort((a, b) => a - b)).toEqual([10, 30, 40])
    selectRange(sel, ids, -5, 0)
    selectRange(sel, ids, 4, 99)
    expect([...sel].sort((a, b) => a - b)).toEqual([10, 30, 40, 50])
  })

  it('select all takes every id of the view', () => {
    const sel = new Set<number>([99])
    selectAll(sel, ids)
    expect([...sel].sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50, 99])
  })
})
