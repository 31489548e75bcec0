// Renderer (plain TypeScript, no runes; unit-tested in test/renderer/mix-map.test.ts). A pcm-net candidate's
// mix-up map, read back from its stored provenance (`source.params.mixMap`, written by services/candidates.ts)
// for the heatmap: one cell per patch of the pooled grid, the concept it was mixed with (or none), and a
// colour per concept for the cells and the legend.
// [Note: mix-map colours] Concepts get categorical colours in the order they first appear in the map (so the
// legend reads in patch order), from a palette chosen to stay apart for common colour-vision deficiencies
// (Okabe–Ito, without its black, which would vanish on dark images). Past eight concepts colours repeat; the
// legend still names every concept, and each cell's tooltip names its own.
import * as v from 'valibot'
import type { Caption } from '@shared/contract/captions'
import { PcmMixMap } from '@shared/contract/engine'

export const MIX_PALETTE = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#FFFFFF'] as const

export interface MixConcept {
  word: string
  colour: string
  /** How many patches were mixed with it. */
  patches: number
}

export interface MixMapView {
  kind: 'mix'
  grid: [number, number]
  /** Per cell (row-major): index into `concepts`, or -1 for a patch left unmixed. */
  cells: number[]
  concepts: MixConcept[]
}

/** Grids larger than this are not a pooled ViT patch grid; refuse them rather than draw thousands of cells. */
const MAX_SIDE = 64

/** The mix-up map of a candidate written by a pcm-net decoder, or null (other candidates, or a malformed map). */
export function mixMapOf(c: Caption | undefined): MixMapView | null {
  return readMixMap(c?.source.params?.mixMap)
}

/** A stored `mixMap` value as cells and coloured concepts, or null when absent or malformed. */
export function readMixMap(raw: unknown): MixMapView | null {
  if (raw === undefined) return null
  const parsed = v.safeParse(PcmMixMap, raw)
  if (!parsed.success) return null
  const [rows, cols] = parsed.output.grid
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || rows > MAX_SIDE || cols > MAX_SIDE) return null
  const cells = new Array<number>(rows * cols).fill(-1)
  const concepts: MixConcept[] = []
  const index = new Map<string, number>()
  for (const m of parsed.output.mixed) {
    if (!Number.isInteger(m.patch) || m.patch < 0 || m.patch >= cells.length) return null
    let k = index.get(m.concept)
    if (k === undefined) {
      k = concepts.length
      index.set(m.concept, k)
      concepts.push({ word: m.concept, colour: MIX_PALETTE[k % MIX_PALETTE.length]!, patches: 0 })
    }
    const was = cells[m.patch]!
    if (was >= 0) concepts[was]!.patches--
    concepts[k]!.patches++
    cells[m.patch] = k
  }
  return { kind: 'mix', grid: [rows, cols], cells, concepts }
}
