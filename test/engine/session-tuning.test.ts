// Session options per model kind: defaults, code overrides, environment overrides (general and per kind),
// refusal of bad values by variable name, and the onnxruntime option object they become.
import { describe, expect, it } from 'vitest'
import { DEFAULT_TUNING, kindOfLabel, ortOptions, tuningFor } from '../../src/main/engine/worker/session-tuning'

describe('ONNX Runtime session tuning', () => {
  it('maps engine session labels to model kinds', () => {
    expect(['image encoder', 'text encoder', 'decoder noise-0', 'decoder random cache step (next-token tail)', 'concepts'].map(kindOfLabel)).toEqual(['image', 'text', 'decoder', 'decoder', 'other'])
  })

  it('layers defaults, code and environment, the per-kind variable winning', () => {
    expect(tuningFor('image', {}, {})).toEqual(DEFAULT_TUNING)
    expect(tuningFor('text', { intraOpThreads: 1 }, {}).intraOpThreads).toBe(1)
    const env = { CAPTION_STUDIO_ORT_INTRA: '2', CAPTION_STUDIO_ORT_INTRA_DECODER: '1', CAPTION_STUDIO_ORT_OPT: 'basic', CAPTION_STUDIO_ORT_ARENA_IMAGE: '0', CAPTION_STUDIO_ORT_INTER: '2' }
    expect(tuningFor('decoder', { intraOpThreads: 3 }, env)).toEqual({ graphOptimizationLevel: 'basic', intraOpThreads: 1, interOpThreads: 2, memArena: true })
    expect(tuningFor('image', {}, env)).toEqual({ graphOptimizationLevel: 'basic', intraOpThreads: 2, interOpThreads: 2, memArena: false })
  })

  it('refuses bad values, naming the variable', () => {
    expect(() => tuningFor('image', {}, { CAPTION_STUDIO_ORT_OPT: 'max' })).toThrow(/CAPTION_STUDIO_ORT_OPT=max: expected one of disabled, basic, extended, all/)
    expect(() => tuningFor('text', {}, { CAPTION_STUDIO_ORT_INTRA_TEXT: '0' })).toThrow(/CAPTION_STUDIO_ORT_INTRA_TEXT=0/)
    expect(() => tuningFor('text', {}, { CAPTION_STUDIO_ORT_INTER: '1.5' })).toThrow(/CAPTION_STUDIO_ORT_INTER=1.5/)
    expect(() => tuningFor('decoder', {}, { CAPTION_STUDIO_ORT_ARENA: 'yes' })).toThrow(/CAPTION_STUDIO_ORT_ARENA=yes/)
  })

  it('becomes onnxruntime options: threads capped, parallel executor only with inter-op > 1', () => {
    expect(ortOptions(DEFAULT_TUNING, 2, 2)).toEqual({ intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableCpuMemArena: true })
    expect(ortOptions({ ...DEFAULT_TUNING, intraOpThreads: 8, interOpThreads: 4, memArena: false }, 2, 2)).toEqual({ intraOpNumThreads: 2, interOpNumThreads: 2, executionMode: 'parallel', graphOptimizationLevel: 'all', enableCpuMemArena: false })
  })
})
