// Any Node process. One evaluation run: load the splits, run every selected configuration on each through
// a backend, score, and assemble the results document. Shared by the `eval` and `eval-demo` commands.
import { readPackJson } from '../engine/packs/pack'
import { ablationPlan, selectConfigs, type ConfigPlan, type EvalConfig } from './configs'
import { loadRefs, loadScenes } from './dataset'
import { clipCacheFor, runConfig, splitFromFolder, type BackendFactory, type RunResult } from './harness'
import { machineInfo, type MachineInfo } from './machine'
import { METRIC_NOTES, type ResultsDoc, type SplitSummary } from './report'
import { referenceTruth, scoreLeaveOneOut } from './score'

export interface SplitSource {
  name: string
  imagesDir: string
  refsPath: string
  scenesPath?: string
}

export interface EvalRequest {
  packDir: string
  splits: SplitSource[]
  configs: string[]
  /** Extra configurations (run after the selected ablation rows), e.g. candidate defaults tried on val. */
  extra?: EvalConfig[]
  limit?: number
  /** Compute CLIP-S / RefCLIP-S (needs the pack's text encoder). */
  clip?: boolean
  factory: BackendFactory
  root: string
  command: string
  log: (line: string) => void
  onRun?: (r: RunResult) => void
}

export async function runEvaluation(req: EvalRequest): Promise<{ doc: ResultsDoc; runs: RunResult[]; machine: MachineInfo }> {
  const pack = await readPackJson(req.packDir)
  const plan = selectConfigs(ablationPlan(pack), req.configs)
  const extra = req.extra ?? []
  const shownPlan: ConfigPlan[] = [...(extra.length && req.configs.length === 0 ? [] : plan), ...extra.map((config) => ({ config }))]
  const configs: EvalConfig[] = shownPlan.flatMap((p) => ('config' in p ? [p.config] : []))
  for (const p of shownPlan) if (!('config' in p)) req.log(`skipping ${p.name}: ${p.skipped}`)
  const runs: RunResult[] = []
  const summaries: SplitSummary[] = []
  const notes = [...METRIC_NOTES]
  let provider = 'unknown'
  let packName = `${pack.id}@${pack.version}`
  for (const src of req.splits) {
    const refs = loadRefs(src.refsPath)
    const scenes = src.scenesPath ? loadScenes(src.scenesPath) : undefined
    const all = splitFromFolder(src.name, src.imagesDir, refs, scenes)
    const split = req.limit ? splitFromFolder(src.name, src.imagesDir, refs, scenes, req.limit) : all
    req.log(`${split.name}: ${split.files.length} of ${all.files.length} images`)
    let clip = null
    if (req.clip !== false) {
      const b = await req.factory()
      try {
        clip = await clipCacheFor(b, split)
        const d = b.describe()
        provider = d.provider
        packName = d.pack
      } finally {
        await b.close()
      }
    }
    const reference = scoreLeaveOneOut(split, clip ?? undefined)
    summaries.push({ name: split.name, images: split.files.length, available: all.files.length, reference })
    const rt = referenceTruth(split)
    if (rt !== null) notes.push(`On ${split.name}, the truth checker accepts ${(rt * 100).toFixed(2)}% of the reference captions (a check of the checker against the generator).`)
    for (const config of configs) {
      req.log(`${split.name} · ${config.name} …`)
      let last = 0
      const r = await runConfig(req.factory, split, config, clip, (done, total) => {
        if (done - last >= 200 || done === total) {
          last = done
          req.log(`  ${done}/${total}`)
        }
      })
      req.log(`${split.name} · ${config.name}: CIDEr-D ${r.scores.ciderD.toFixed(3)}, truth ${r.scores.truth?.toFixed(3) ?? '–'}, ${r.msPerImage.toFixed(1)} ms/image${r.scores.failed ? `, ${r.scores.failed} failed` : ''}`)
      const firstError = r.captions.find((c) => c.error)
      if (firstError) req.log(`  first failure: ${firstError.key}: ${firstError.error}`)
      runs.push(r)
      req.onRun?.(r)
    }
  }
  const machine = machineInfo(req.root, ['src', 'models', 'package-lock.json'])
  const doc: ResultsDoc = {
    title: `Caption quality: ${pack.id} ablation`,
    command: req.command,
    machine,
    pack: packName,
    provider,
    splits: summaries,
    plan: shownPlan,
    runs,
    notes
  }
  return { doc, runs, machine }
}
