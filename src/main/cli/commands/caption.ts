// CLI (plain Node). `caption <files|dirs…> [--pack ID|DIR] [--json] [--queue redis://…] [options]`: caption
// images through the engine worker, or with --queue on the worker fleet (src/main/fleet/cli-batch.ts), which
// prints the same lines in the same order. [Note: CLI output] One JSON object per image on stdout ({file, caption, candidates, concepts, regions,
// timings}, or {file, error} for a file that failed); progress and a summary on stderr. Exit 0 when every
// file was captioned, 3 when some failed, 1 on a fatal error.
import { StudioError } from '@shared/errors'
import type { CaptionOptions, CaptionResult } from '../../engine/client'
import { cliEngine, expandInputs, num, onOff, oneOf, resolvePackDir } from '../cli-support'
import { emit, log, parse, type CliCommand } from '../command'
import { dirname } from 'node:path'
import { readPackJson } from '../../engine/packs/pack'
import { checkDomain } from '../../models/domain-guard'

const CHUNK = 32
const r4 = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 1e4) / 1e4)

function compact(r: CaptionResult, conceptsDetail: boolean) {
  const regions = !r.regions
    ? null
    : r.regions.kind === 'patch'
      ? { kind: 'patch', grid: r.regions.grid, weights: r.regions.weights.map(r4), selected: r.regions.selected, similarity: r.regions.similarity.map(r4) }
      : { kind: 'crops', boxes: r.regions.boxes.map((b, i) => ({ ...b, weight: r4(r.regions!.weights[i]) })), similarity: r.regions.similarity.map(r4) }
  return {
    file: r.file,
    caption: r.caption,
    candidates: r.candidates.map((c) => ({ text: c.text, source: c.source, clipS: r4(c.scores.clipS), aclipS: r4(c.scores.aclipS) ?? null, score: r4(c.score) })),
    concepts: conceptsDetail ? r.concepts.map((c) => ({ word: c.word, category: c.category, prob: r4(c.prob) })) : r.concepts.map((c) => c.word),
    regions,
    timings: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, Math.round(v * 100) / 100]))
  }
}

export const captionCommand: CliCommand = {
  name: 'caption',
  summary: 'Caption images or folders with a model pack (JSON lines on stdout)',
  usage: `usage: caption-studio caption <files|dirs…> [--pack ID|DIR] [--json] [--queue redis://HOST:PORT]
       [--decoder ID] [--also-decoders ID,ID…] [--regions patch|crops|off]
       [--noise-samples N] [--noise-var V] [--clean-sample on|off] [--beam W] [--rerank on|off]
       [--retrieval on|off] [--align procrustes|ridge|off] [--align-prefix on|off] [--mixup on|off]
       [--memory-projection on|off] [--concepts] [--seed S]

  Folders are walked for images (other files are skipped). Unset options take the pack's defaults.
  --also-decoders  more decoders (e.g. a pcm-net one) whose captions join the main decoder's before the rerank
  --memory-projection  DeCap: decode the image embedding projected onto the caption datastore
  --json       one JSON object per image (default: "file<TAB>caption" lines)
  --concepts   include concept categories and probabilities (default: concept words only)
  --queue      caption on the worker fleet at this Redis (caption-studio worker; docs/fleet.md) instead of here:
               the same lines, in the same order; only paths and content hashes go to the queue
  Exit code: 0 all captioned, 3 some files failed (each has an {file, error} line), 1 fatal.`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      pack: { type: 'string' },
      json: { type: 'boolean' },
      decoder: { type: 'string' },
      'also-decoders': { type: 'string' },
      regions: { type: 'string' },
      'noise-samples': { type: 'string' },
      'noise-var': { type: 'string' },
      'clean-sample': { type: 'string' },
      beam: { type: 'string' },
      rerank: { type: 'string' },
      retrieval: { type: 'string' },
      align: { type: 'string' },
      'align-prefix': { type: 'string' },
      mixup: { type: 'string' },
      'memory-projection': { type: 'string' },
      concepts: { type: 'boolean' },
      seed: { type: 'string' },
      queue: { type: 'string' }
    })
    if (positionals.length === 0) throw new StudioError('invalid_input', 'no files or folders given')
    const packDir = await resolvePackDir(values.pack)
    const options: CaptionOptions = {
      decoder: values.decoder,
      alsoDecoders: values['also-decoders']?.split(',').map((x) => x.trim()).filter(Boolean),
      regions: oneOf(values.regions, ['patch', 'crops', 'off'] as const, 'regions'),
      noiseSamples: num(values['noise-samples'], 'noise-samples', true),
      noiseVariance: num(values['noise-var'], 'noise-var'),
      cleanSample: onOff(values['clean-sample'], 'clean-sample'),
      beam: num(values.beam, 'beam', true),
      rerank: onOff(values.rerank, 'rerank'),
      retrieval: onOff(values.retrieval, 'retrieval'),
      align: oneOf(values.align, ['procrustes', 'ridge', 'off'] as const, 'align'),
      alignPrefix: onOff(values['align-prefix'], 'align-prefix'),
      mixup: onOff(values.mixup, 'mixup'),
      memoryProjection: onOff(values['memory-projection'], 'memory-projection'),
      seed: num(values.seed, 'seed', true)
    }
    for (const k of Object.keys(options) as (keyof CaptionOptions)[]) if (options[k] === undefined) delete options[k]
    const files = await expandInputs(positionals, (p, why) => log(`skipped ${p}: ${why}`))
    if (files.length === 0) throw new StudioError('not_found', 'no images found in the given paths')
    // [Note: domain guard] the same sentence the studio shows, once
    const pack = await readPackJson(packDir)
    const notice = checkDomain({ id: pack.id, dir: packDir, ...(pack.domain ? { domain: pack.domain } : {}), ...(pack.samples ? { samplesDir: pack.samples.dir } : {}) }, [...new Set(files.map((f) => dirname(f)))], null).notice
    if (notice) log(`warning: ${notice.replace('Get the photo pack in Models.', 'Get the photo pack: caption-studio models get clip-vit-b32 --corpus coco-captions-2017')}`)
    if (values.queue) return captionOnQueue(values.queue, pack, files, options, { json: !!values.json, concepts: !!values.concepts })
    const client = cliEngine()
    let failed = 0
    try {
      const t0 = performance.now()
      const st = await client.call('open', { packDir, warm: true })
      log(`pack ${st.packId} ${st.version} (${st.provider ?? '?'}), sha256 ${st.verify.hashed ? `checked ${st.verify.hashed} files` : 'cached'} in ${Math.round(st.verify.ms)} ms; ${files.length} images`)
      for (let i = 0; i < files.length; i += CHUNK) {
        const chunk = files.slice(i, i + CHUNK)
        const out = await client.call('caption', { packDir, inputs: chunk.map((file) => ({ file })), options }, {
          onProgress: (p) => process.stderr.isTTY && process.stderr.write(`\r[${i + p.done}/${files.length}]`)
        })
        for (const r of out) {
          if ('error' in r) {
            failed++
            if (values.json) emit({ file: r.file, error: r.error.message, code: r.error.code })
            else process.stdout.write(`${r.file}\tERROR ${r.error.message}\n`)
            log(`error: ${r.error.message}`)
          } else if (values.json) emit(compact(r, !!values.concepts))
          else process.stdout.write(`${r.file}\t${r.caption}\n`)
        }
      }
      if (process.stderr.isTTY) process.stderr.write('\n')
      const ms = performance.now() - t0
      log(`${files.length - failed} captioned, ${failed} failed, ${Math.round(ms)} ms (${Math.round(ms / files.length)} ms/image)`)
    } finally {
      await client.dispose()
    }
    return failed === 0 ? 0 : 3
  }
}

/** --queue: the fleet answers, printed as a local run prints them. */
async function captionOnQueue(redis: string, pack: Awaited<ReturnType<typeof readPackJson>>, files: string[], options: CaptionOptions, out: { json: boolean; concepts: boolean }): Promise<number> {
  const { captionOnFleet } = await import('../../fleet/cli-batch')
  const { packIdentity } = await import('../../fleet/protocol')
  const { redactUrl } = await import('../../fleet/redis')
  const identity = packIdentity(pack)
  log(`fleet at ${redactUrl(redis)}: pack ${pack.id} ${pack.version}; ${files.length} images`)
  const abort = new AbortController()
  const onSigint = () => abort.abort()
  process.once('SIGINT', onSigint)
  let failed = 0
  const t0 = performance.now()
  try {
    await captionOnFleet({
      redis,
      pack: identity,
      files,
      options,
      signal: abort.signal,
      log,
      onAnswer(i, a) {
        const file = files[i]!
        if (!a.ok) {
          failed++
          if (out.json) emit({ file, error: a.error.message, code: a.error.code })
          else process.stdout.write(`${file}\tERROR ${a.error.message}\n`)
          log(`error: ${a.error.message}`)
          return
        }
        const r = { file, ...a.caption } as unknown as CaptionResult
        if (out.json) emit(compact(r, out.concepts))
        else process.stdout.write(`${file}\t${r.caption}\n`)
      }
    })
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
  const ms = performance.now() - t0
  if (abort.signal.aborted) throw new StudioError('cancelled', 'interrupted: the chunks not yet started were taken off the queue')
  log(`${files.length - failed} captioned, ${failed} failed, ${Math.round(ms)} ms (${Math.round(ms / files.length)} ms/image) on the fleet`)
  return failed === 0 ? 0 : 3
}
