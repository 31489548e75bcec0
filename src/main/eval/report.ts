// Any Node process (pure). Renders evaluation runs as the markdown of docs/results.md.
import type { ConfigPlan } from './configs'
import type { RunResult } from './harness'
import { machineMarkdown, type MachineInfo } from './machine'
import type { ScoredRun } from './score'

export interface SplitSummary {
  name: string
  images: number
  available: number
  reference?: ScoredRun
}

export interface ResultsDoc {
  title: string
  command: string
  machine: MachineInfo
  pack: string
  provider: string
  splits: SplitSummary[]
  plan: ConfigPlan[]
  runs: RunResult[]
  notes: string[]
}

const f = (x: number | null, digits = 3) => (x === null ? '–' : x.toFixed(digits))

function row(name: string, s: ScoredRun, ms: number | null, heldOut: boolean, decoderPicks: number | null): string {
  const cells = [name, f(s.ciderD), f(s.bleu[3]), f(s.rougeL), f(s.truth), ...(heldOut ? [f(s.heldOutNamed)] : []), f(s.clipS), f(s.refClipS), f(decoderPicks, 2), ms === null ? '–' : ms.toFixed(1), String(s.failed)]
  return `| ${cells.join(' | ')} |`
}

export function resultsMarkdown(d: ResultsDoc): string {
  const out: string[] = [`# ${d.title}`, '', '<!-- Written by the evaluation command below; do not edit by hand, re-run it. -->', '', machineMarkdown(d.machine, d.command), `- Pack: ${d.pack}; execution provider: ${d.provider}`, '']
  for (const split of d.splits) {
    const runs = d.runs.filter((r) => r.split === split.name)
    const heldOut = runs.some((r) => r.scores.heldOutNamed !== null)
    const sample = split.images === split.available ? `all ${split.images} images` : `the first ${split.images} of ${split.available} images by file name`
    out.push(`## ${split.name} (${sample})`, '')
    const head = ['configuration', 'CIDEr-D', 'BLEU-4', 'ROUGE-L', 'truth', ...(heldOut ? ['held-out named'] : []), 'CLIP-S', 'RefCLIP-S', 'decoder picks', 'ms / image', 'failed']
    out.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
    for (const r of runs) out.push(row(r.config, r.scores, r.msPerImage, heldOut, r.decoderPicks))
    if (split.reference) out.push(row('*a reference caption (leave-one-out)*', split.reference, null, heldOut, null))
    out.push('')
  }
  out.push('## Configurations', '')
  for (const p of d.plan) {
    if ('config' in p) out.push(`- **${p.config.name}** — ${p.config.description}. Options: \`${JSON.stringify(p.config.options)}\``)
    else out.push(`- **${p.name}** — skipped: ${p.skipped}`)
  }
  out.push('', '## How to read this', '', ...d.notes.map((n) => `- ${n}`), '')
  return out.join('\n')
}

export const METRIC_NOTES = [
  'BLEU-4 is corpus-level as in coco-caption (n-gram statistics pooled over the split, closest reference length, brevity penalty); ROUGE-L (β = 1.2) and CIDEr-D (σ = 6, clipped, ×10, document frequencies from this split\'s references) are means over images. All use the PTB-style tokenisation of src/main/eval/metrics/tokenize.ts.',
  'truth: share of generated captions true of their scene under the ShapesWorld checker (src/main/eval/shapesworld-truth.ts); a caption that does not parse under the caption grammar is false. held-out named: on images containing a held-out colour–shape pair, the share of captions that name that pair (colour and shape) and are true (the model kit\'s heldoutPairNamed).',
  'CLIP-S = 2.5·max(cos, 0) and RefCLIP-S (harmonic mean with the best reference cosine) use the pack\'s own CLIP (no "A photo depicts" prompt: the demo CLIP has a word-level vocabulary that lacks those words). Rows ranked by CLIP-S are favoured by this column by construction.',
  'ms / image: wall time of captioning the split in-process, divided by the number of images, after sessions were created; it includes preprocessing with sharp. Machines are shared, so compare rows measured in the same run rather than across runs.',
  'decoder picks: share of chosen captions that a decoder wrote (the rest are datastore captions picked by retrieval); when it is near 0, the decoder-side options of that row cannot change its scores.',
  'failed: images the engine could not caption; they count as empty, false captions.',
  'The leave-one-out row scores one human reference against the other four (so its CIDEr-D uses 4 references and different document frequencies): a ceiling for orientation, not a configuration.'
]
