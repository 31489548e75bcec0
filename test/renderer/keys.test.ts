// The keymap rules (src/renderer/src/lib/keys.ts): combos from key events, scopes while typing, conflict
// detection, saved bindings over the defaults, and labels.
import { describe, expect, it } from 'vitest'
import { ACTIONS, comboOf, conflicts, defaultBindings, labelOf, matchAction, parseBindings } from '../../src/renderer/src/lib/keys'

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods })

describe('keys', () => {
  it('normalises key events into combos', () => {
    expect(comboOf(key('j', { ctrlKey: true }))).toBe('Ctrl+J')
    expect(comboOf(key('j', { metaKey: true }))).toBe('Ctrl+J')
    expect(comboOf(key('ArrowRight', { altKey: true }))).toBe('Alt+ArrowRight')
    expect(comboOf(key('ArrowDown', { shiftKey: true }))).toBe('Shift+ArrowDown')
    expect(comboOf(key('?', { shiftKey: true }))).toBe('?')
    expect(comboOf(key(' '))).toBe('Space')
    expect(comboOf(key('Shift', { shiftKey: true }))).toBeNull()
  })

  it('the defaults have no conflicts, and a shared combo is reported with every action using it', () => {
    expect(conflicts(defaultBindings())).toEqual([])
    const b = { ...defaultBindings(), edit: ['S'], heatmap: ['S', 'Ctrl+J'] }
    expect(conflicts(b)).toEqual([
      { combo: 'Ctrl+J', actions: ['nextUncaptioned', 'heatmap'] },
      { combo: 'S', actions: ['edit', 'suggest', 'heatmap'] }
    ])
  })

  it('view-only actions do not fire while typing unless the combo has Ctrl or Alt; "any" actions always do', () => {
    const b = defaultBindings()
    expect(matchAction(b, key('ArrowRight'), false)).toBe('next')
    expect(matchAction(b, key('ArrowRight'), true)).toBeNull()
    expect(matchAction(b, key('ArrowRight', { altKey: true }), true)).toBe('next')
    expect(matchAction(b, key('e'), true)).toBeNull()
    expect(matchAction(b, key('e'), false)).toBe('edit')
    expect(matchAction(b, key('Escape'), true)).toBe('back')
    expect(matchAction(b, key('z', { ctrlKey: true }), true)).toBe('undo')
    expect(matchAction(b, key('q'), false)).toBeNull()
    expect(matchAction({ ...b, heatmap: ['Ctrl+H'] }, key('h', { ctrlKey: true }), true)).toBe('heatmap')
  })

  it('saved bindings override the defaults; unreadable or malformed entries fall back', () => {
    expect(parseBindings(null)).toEqual(defaultBindings())
    expect(parseBindings('{not json')).toEqual(defaultBindings())
    expect(parseBindings('[1,2]')).toEqual(defaultBindings())
    const saved = parseBindings(JSON.stringify({ edit: ['F2'], next: 'X', prev: [3] }))
    expect(saved.edit).toEqual(['F2'])
    expect(saved.next).toEqual(ACTIONS.find((a) => a.id === 'next')!.defaults)
    expect(saved.prev).toEqual(['ArrowLeft', 'Alt+ArrowLeft'])
    expect(matchAction(saved, key('F2'), false)).toBe('edit')
    expect(matchAction(saved, key('e'), false)).toBeNull()
  })

  it('labels list every combo of an action, or say it is unbound', () => {
    expect(labelOf(defaultBindings(), 'prev')).toBe('ArrowLeft / Alt+ArrowLeft')
    expect(labelOf({ ...defaultBindings(), more: [] }, 'more')).toBe('unbound')
  })
})
