// Main process / serve / CLI (plain Node). Turns engine output into stored candidates with provenance:
// the pack, the route (decoder / retrieval), the decoder id and kind (with a pcm-net decoder's mix-up map),
// noise variance and seeds, and every score, plus `score` (the ranking score) and `rank` (0 = best) so review
// and auto-accept can use them.
import { isBlankCaption } from '@shared/caption-text'
import type { CaptionOutput } from '@shared/contract/engine'
import type { NewCandidate } from '../store/captions-repo'
import type { CaptionOutcome } from '../jobs/runner'

export function toNewCandidates(out: CaptionOutput): NewCandidate[] {
  return out.candidates
    .filter((c) => !isBlankCaption(c.text))
    .map((c, rank) => {
      const params: Record<string, unknown> = {}
      if (c.provenance.decoder) {
        params.decoder = c.provenance.decoder.id
        params.noiseVariance = c.provenance.decoder.noiseVariance
        params.seeds = c.provenance.decoder.samples.map((s) => s.seed)
        params.beam = c.provenance.decoder.beam
        // DeCap's memory projection: the decoder read the input projected onto this many datastore rows
        if (c.provenance.decoder.memory) params.memory = c.provenance.decoder.memory
        if (c.provenance.decoder.kind) params.decoderKind = c.provenance.decoder.kind
        // pcm-net: which pooled patches the graph mixed with which concept (the studio's heatmap draws it);
        // `mixMap`, not `mixup`, which is the caption option (a boolean) copied below
        if (c.provenance.decoder.mixup) params.mixMap = c.provenance.decoder.mixup
      }
      if (c.provenance.retrieval) {
        params.retrievalSimilarity = c.provenance.retrieval.similarity
        params.align = c.provenance.retrieval.align
        const src = c.provenance.retrieval.source
        if (src) params.retrievalSource = src.attribution ?? `${src.name}, ${src.licence}`
      }
      for (const k of ['regions', 'align', 'noiseSamples', 'mixup', 'seed'] as const) if (out.options[k] !== undefined) params[k] = out.options[k]
      const scores: Record<string, number> = { score: c.score, rank }
      for (const [k, val] of Object.entries(c.scores)) if (typeof val === 'number') scores[k] = val
      return { text: c.text, source: { kind: 'model' as const, packId: out.packId, method: c.source, params }, scores }
    })
}

/** [Note: captioner seam] engine.caption's output as a batch job stores it: candidates, concepts, and what the
 *  job item keeps (pack, engine milliseconds, plus `extra`: the fleet's worker and result key). */
export function toCaptionOutcome(out: CaptionOutput, extra: Record<string, unknown> = {}): CaptionOutcome {
  return {
    candidates: toNewCandidates(out),
    concepts: out.concepts.map((c) => ({ word: c.word, prob: c.prob })),
    result: { packId: out.packId, ms: Math.round(out.timings.total ?? 0), ...extra }
  }
}
