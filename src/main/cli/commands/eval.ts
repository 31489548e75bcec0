// CLI (plain Node). `eval --pack <dir> --images <dir> --refs <json> [--scenes <json>] [--config <name>…]`:
// caption a folder of images with each ablation configuration and score it against references.
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as v from 'valibot'
import { CaptionOptionsSchema } from '@shared/contract/engine'
import { describeIssues } from '@shared/contract/define'
import type { EvalConfig } from '../../eval/configs'
import { engineBackendFactory } from '../../eval/engine-backend'
import { pickDefault } from '../../eval/pick'
import { findRepoRoot } from '../../eval/machine'
import { resultsMarkdown, type ResultsDoc } from '../../eval/report'
import { runEvaluation } from '../../eval/run'
import type { RunResult } from '../../eval/harness'
import { emit, log, parse, type CommandBody } from '../command'

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

const StrictOptions = v.strictObject(CaptionOptionsSchema.entries)

function extraConfig(name: string, json: unknown, from: string): EvalConfig {
  const r = v.safeParse(StrictOptions, json)
  if (!r.success) throw new Error(`${from} ${name}: ${describeIssues(r.issues)}`)
  return { name, description: `candidate (${from})`, options: r.output }
}

/** `--options NAME=JSON` (or bare JSON): an extra configuration, validated like the engine contract. */
export function parseExtraConfig(raw: string, i: number): EvalConfig {
  const eq = raw.indexOf('=')
  const named = eq > 0 && !raw.trimStart().startsWith('{')
  const name = named ? raw.slice(0, eq).trim() : `options ${i + 1}`
  const text = named ? raw.slice(eq + 1) : raw
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new Error(`--options ${name}: not JSON (${(e as Error).message})`, { cause: e })
  }
  return extraConfig(name, json, '--options')
}

/** `--options-file F`: `{"name": {caption options}, …}`, in file order. */
export function readExtraConfigs(path: string): EvalConfig[] {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new Error(`--options-file ${path}: ${(e as Error).message}`, { cause: e })
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`--options-file ${path}: expected {"name": {options}, …}`)
  return Object.entries(json).filter(([k]) => !k.startsWith('//')).map(([name, o]) => extraConfig(name, o, '--options-file'))
}

/** With several candidates, name the one a pack should take as its defaults, per split (pick.ts). */
export function notePick(doc: ResultsDoc, extra: readonly EvalConfig[]): void {
  if (extra.length < 2) return
  for (const split of new Set(doc.runs.map((r) => r.split))) {
    const p = pickDefault(doc.runs.filter((r) => r.split === split), extra.map((c) => c.name))
    if (!p) continue
    const line = `On ${split}, the candidate to take as the pack's defaults is **${p.config}** (CIDEr-D/best + truth/best: ${p.ranking.map((r) => `${r.config} ${r.score.toFixed(3)}`).join(', ')}).`
    doc.notes.push(line)
    log(line.replace(/\*\*/g, ''))
  }
}

export const evalCommand: CommandBody = {
  usage: `usage: caption-studio eval --pack <dir> --images <dir> --refs <json> [--scenes <json>] [--config <name>]…
                          [--options NAME=JSON]… [--options-file F]                          [--limit N] [--name SPLIT] [--out results.md] [--no-clip]

  --refs      {"file_name": [captions…]} or COCO captions JSON
  --scenes    ShapesWorld scenes (adds the truth rate)
  --config    run only this configuration (exact name, else every name containing the text; repeatable);
              default: all of
              retrieval, dec σ²=0, dec σ²=0.016, + patch, + crops, + noise + rerank, the memory-projection
              rows (dec σ²=0 + memory (DeCap), dec σ²=0.016 + memory, + patch + memory, + … + rerank + memory),
              + procrustes prefix, + ridge prefix, + retrieval, + procrustes, + ridge, + mix-up, default
  --options   NAME=JSON: also run these caption options as a configuration named NAME (repeatable;
              with --options and no --config only the given options run)
  --options-file F   the same from a JSON file {"NAME": {options}, …}; with candidates given this way
              or by --options, the report names the one a pack should take as its defaults
              (CIDEr-D and truth rate weighted equally, each relative to the best candidate)
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
        options: { type: 'string', multiple: true },
        'options-file': { type: 'string' },
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
    const extra = [...(values['options-file'] ? readExtraConfigs(values['options-file']) : []), ...(values.options ?? []).map(parseExtraConfig)]
    const root = findRepoRoot()
    const { doc } = await runEvaluation({
      packDir: resolve(values.pack),
      splits: [{ name: values.name ?? 'images', imagesDir: values.images, refsPath: values.refs, ...(values.scenes ? { scenesPath: values.scenes } : {}) }],
      configs: values.config ?? [],
      extra,
      limit: parseLimit(values.limit),
      clip: !values['no-clip'],
      factory: engineBackendFactory(resolve(values.pack)),
      root,
      command: `npm run cli -- eval ${argv.join(' ')}`,
      log,
      onRun: (r) => emit(runLine(r))
    })
    notePick(doc, extra)
    if (values.out) {
      writeFileSync(values.out, resultsMarkdown(doc))
      log(`wrote ${values.out}`)
    }
    return 0
  }
}
