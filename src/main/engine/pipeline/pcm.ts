// Engine worker / any Node process (pure). What a `pcm-net` decoder reads for one image, and which patches
// its in-graph mix-up mixes with which concept (for provenance and the heatmap).
// [Note: pcm inputs] The decoder was trained (tools/modelkit/train_pcm.py) with the salient concepts picked
// exactly as salientConcepts() does — cos(g, concept rows), softmax at τ, top-K — at the τ and K recorded in
// the decoder's `mixup` entry, so those are used here whatever the caption options' conceptTau/TopK say (the
// graph's concepts input has K rows). The mixing map repeats the graph's selection in TypeScript: patches
// averaged over pool×pool blocks of the token grid and renormalised, a_jk = cos(v_j, c_k), patch j mixed when
// max_k a_jk ≥ the topM-th largest a over all (j, k), leaning on argmax_k a_jk. It only describes; the
// decoder's output comes from the graph alone.
import { StudioError } from '@shared/errors'
import { dot, normalize, type Vec } from '../math/linalg'
import type { LoadedPack } from '../packs/pack'
import type { PcmDecoderSpec } from '../packs/pack-schema'
import type { PcmInput } from '../worker/pcm-steps'
import { salientConcepts, type SalientConcept } from './concepts'

export interface PcmMixMap {
  /** The pooled patch grid the mix-up works on. */
  grid: [number, number]
  /** Mixed patches (row-major index in `grid`) and the concept each leans on most. */
  mixed: { patch: number; concept: string }[]
}

export interface PcmPrepared {
  input: PcmInput
  concepts: SalientConcept[]
  mix: PcmMixMap | null
}

function pooledPatches(tokens: readonly Vec[], grid: [number, number], pool: number, dim: number): Vec[] {
  const [gh, gw] = grid
  const nh = Math.floor(gh / pool)
  const nw = Math.floor(gw / pool)
  const out: Vec[] = []
  for (let r = 0; r < nh; r++)
    for (let c = 0; c < nw; c++) {
      const acc = new Float32Array(dim)
      for (let dr = 0; dr < pool; dr++)
        for (let dc = 0; dc < pool; dc++) {
          const t = normalize(tokens[1 + (r * pool + dr) * gw + c * pool + dc]!)
          for (let d = 0; d < dim; d++) acc[d]! += t[d]!
        }
      out.push(normalize(acc))
    }
  return out
}

export function mixMap(tokens: readonly Vec[], conceptVecs: readonly Vec[], words: readonly string[], grid: [number, number], pool: number, topM: number): PcmMixMap {
  const dim = conceptVecs[0]?.length ?? 0
  const patches = pooledPatches(tokens, grid, pool, dim)
  const best = patches.map((p) => {
    let b = -Infinity
    let k = 0
    conceptVecs.forEach((c, i) => {
      const a = dot(p, c)
      if (a > b) [b, k] = [a, i]
    })
    return { a: b, k, all: conceptVecs.map((c) => dot(p, c)) }
  })
  const flat = best.flatMap((b) => b.all).sort((x, y) => y - x)
  const thr = flat[Math.min(topM, flat.length) - 1] ?? Infinity
  const mixed = best.flatMap((b, j) => (b.a >= thr ? [{ patch: j, concept: words[b.k] ?? String(b.k) }] : []))
  return { grid: [Math.floor(grid[0] / pool), Math.floor(grid[1] / pool)], mixed }
}

export function preparePcm(pack: LoadedPack, spec: PcmDecoderSpec, embed: Vec, tokens: readonly Vec[] | undefined): PcmPrepared {
  if (!tokens?.length) throw new StudioError('unsupported', `decoder ${spec.id}: needs the image encoder's token output`)
  const dim = pack.json.embedDim
  const flat = new Float32Array(tokens.length * dim)
  tokens.forEach((t, i) => flat.set(t, i * dim))
  const m = spec.roles.concepts ? spec.mixup : undefined
  if (!m || !pack.concepts) return { input: { tokens: flat, concepts: new Float32Array(0) }, concepts: [], mix: null }
  const concepts = salientConcepts(embed, pack.concepts, pack.conceptList, m.tau, m.conceptTopK)
  const vecs = concepts.map((c) => normalize(pack.concepts!.data.subarray(c.index * dim, (c.index + 1) * dim)))
  const cflat = new Float32Array(vecs.length * dim)
  vecs.forEach((v, i) => cflat.set(v, i * dim))
  const grid = pack.json.models.image.patchGrid
  const mix = grid ? mixMap(tokens, vecs, concepts.map((c) => c.word), grid, m.pool, m.topM) : null
  return { input: { tokens: flat, concepts: cflat }, concepts, mix }
}
