// CLI (plain Node). `eval --pack <dir> --images <dir> --refs <json> [--scenes <json>] [--config <name>…]`:
// caption a folder of images with each ablation configuration and score it against references.
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { engineBackendFactory } from '../../eval/engine-backend'
import { findRepoRoot } from '../../eval/machine'
import { resultsMarkdown } from '../../eval/report'
import { runEvaluation } from '../../eval/run'
import type { RunResult } from '../../eval/harness'
import { emit, log, parse, type CliCommand } from '../command'

export function runLine(r: RunResult): Record<string, unknown> {
  const s = r.scores
  return { config: r.config, split: r.split, n: s.n, failed: s.failed, ciderD: s.ciderD, bleu: s.bleu, rougeL: s.rougeL, truth: s.truth, heldOutNamed: s.heldOutNamed, clipS: s.clipS, refClipS: s.refClipS, msPerImage: r.msPerImage, seconds: r.seconds, decoderPicks: r.decoderPicks }
}

export function parseLimit(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new Error('--limit must be a non-negative integer (0 = all)')
  return n || undefined
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'Caption an image folder with each configuration and score it (CIDEr-D, BLEU, ROUGE-L, truth, CLIP-S)',
  usage: `usage: caption-studio eval --pack <dir> --images <dir> --refs <json> [--scenes <json>] [--config <name>]…
                          [--limit N] [--name SPLIT] [--out results.md] [--no-clip]

  --refs      {"file_name": [captions…]} or COCO captions JSON
  --scenes    ShapesWorld scenes (adds the truth rate)
  --config    run only this configuration (exact name, else every name containing the text; repeatable);
              default: all of
              retrieval, dec σ²=0, dec σ²=0.016, + patch, + crops, + noise + rerank, + retrieval,
              + procrustes, + ridge, + mix-up, default
  --limit N   only the first N images by file name (0 = all)
  --out       also write the markdown table to this file
  --no-clip   skip CLIP-S / RefCLIP-S
  One JSON line per (configuration, split) on stdout; progress on stderr.`,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        pack: { type: 'string' },
        images: { type: 'string' },
        refs: { type: 'string' },
        scenes: { type: 'string' },
        config: { type: 'string', multiple: true },
        limit: { type: 'string' },
        name: { type: 'string' },
        out: { type: 'string' },
        'no-clip': { type: 'boolean' }
      },
      false
    )
    if (!values.pack || !values.images || !values.refs) {
      log(this.usage)
      return 2
    }
    const root = findRepoRoot()
    const { doc } = await runEvaluation({
      packDir: resolve(values.pack),
      splits: [{ name: values.name ?? 'images', imagesDir: values.images, refsPath: values.refs, ...(values.scenes ? { scenesPath: values.scenes } : {}) }],
      configs: values.config ?? [],
      limit: parseLimit(values.limit),
      clip: !values['no-clip'],
      factory: engineBackendFactory(resolve(values.pack)),
      root,
      command: `npm run cli -- eval ${argv.join(' ')}`,
      log,
      onRun: (r) => emit(runLine(r))
    })
    if (values.out) {
      writeFileSync(values.out, resultsMarkdown(doc))
      log(`wrote ${values.out}`)
    }
    return 0
  }
}
