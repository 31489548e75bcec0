// CLI (in-process engine). `npm run bench -- --only photo`: the photo pack at ViT-B/32 size (random weights,
// tools/modelkit/export_hub_clip.py --full-size --int8, in the transformers.js layout) assembled by the same
// code as the pack builder (models/photo-pack.ts), measuring (1) the datastore build's caption embeddings/s
// against raw `session.run` on the same batches of the same text model, and (2) captioning one 12-megapixel
// JPEG (retrieval + rerank + concepts + patch/crop regions) with per-stage timings.
// [Note: bench photo] The tokenizer is a CLIP-format BPE learned from the bench's own captions (a few thousand
// merges, not CLIP's 49,408 tokens): the embedding table is smaller, the transformer is full size, so the
// text-encoder cost per caption is the real model's to within the table lookup. Raw runs on pre-tokenized,
// pre-built tensors (the ceiling); ours includes tokenizing, normalising and writing the checkpoint file.
import { benchProvider } from './raw-ort'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import sharp from 'sharp'
import { createTokenizer } from '../../engine/text/tokenizer'
import { InProcessEngineClient } from '../../engine/worker/in-process-client'
import { assemblePhotoPack } from '../../models/photo-pack'
import { buildClipTokenizerJson, generateCaptions } from '../clip-tokenizer-builder'
import { pinnedPhotoInputs } from './pinned-photo-inputs'
import { openRaw } from './raw-ort'

export interface PhotoBench {
  size: 'full' | 'small'
  captions: number
  threads: number
  embed: { oursPerSec: number; rawPerSec: number; ratio: number; batch: number }
  /** Caption one 12-MP JPEG: median ms per stage over the runs, and each stage's share of the total. */
  caption: { megapixels: number; runs: number; stages: { stage: string; ms: number; share: number }[]; totalMs: number; regions: string }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function benchPhoto(o: { root: string; cacheDir: string; quick: boolean; threads: number; log: (m: string) => void }): Promise<PhotoBench | { skip: string }> {
  const py = '/usr/bin/python3'
  if (spawnSync(py, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status !== 0) return { skip: 'photo: /usr/bin/python3 lacks torch/onnx (apt-get install -y python3-torch python3-onnx)' }
  const size = o.quick ? 'small' : 'full'
  const captions = generateCaptions(o.quick ? 800 : 6000, 7)
  const tok = buildClipTokenizerJson(captions.slice(0, 3000), { merges: 2000 })
  const base = join(o.cacheDir, `photo-${size}`)
  const repo = join(base, 'repo')
  if (!existsSync(join(repo, 'onnx', 'text_model_quantized.onnx'))) {
    o.log(`photo: exporting a ${size === 'full' ? 'ViT-B/32-size' : 'small'} random CLIP in the hub layout (once, into the cache)`)
    mkdirSync(repo, { recursive: true })
    const r = spawnSync(py, [join(o.root, 'tools/modelkit/export_hub_clip.py'), '--out', repo, '--vocab-size', String(tok.vocabSize), '--int8', ...(size === 'full' ? ['--full-size'] : [])], { encoding: 'utf8' })
    if (r.status !== 0) return { skip: `photo: export_hub_clip.py failed: ${r.stderr.slice(-300)}` }
  }
  writeFileSync(join(repo, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson))
  writeFileSync(join(repo, 'tokenizer_config.json'), JSON.stringify(tok.tokenizerConfig))
  const inputs = pinnedPhotoInputs({ root: o.root, work: base, clipDir: repo, label: 'bench', clipTitle: 'random ViT-B/32-layout CLIP (bench)', annotations: captions.map((caption, i) => ({ image_id: i, id: i, caption })) })
  const paths = inputs.paths
  const engine = new InProcessEngineClient({ providers: [benchProvider()], intraOpThreads: o.threads })
  try {
    const marks: Record<string, number> = {}
    let first: { t: number; done: number } | null = null
    o.log(`photo: assembling the pack (${captions.length} captions)`)
    let rows = 0
    const pack = await assemblePhotoPack(
      { ...inputs, engine, signal: new AbortController().signal },
      {
        // from the end of the first batch (session creation and warm-up excluded, as for raw) to the last
        embed: (done, total) => {
          if (total > 0 && done > 0 && first === null) first = { t: performance.now(), done }
          if (total > 0 && done === total) marks.embedEnd = performance.now()
          rows = total
        },
        concepts: () => undefined,
        datastore: () => undefined,
        install: () => undefined
      }
    )
    writeFileSync(join(paths.stagePack, 'pack.json'), JSON.stringify(pack, null, 2))
    await engine.call('close', { packDir: paths.stagePack })
    const f = first as { t: number; done: number } | null
    if (!f || marks.embedEnd === undefined || rows <= f.done) throw new Error('photo: the corpus needs more than one batch to measure')
    const oursPerSec = (rows - f.done) / ((marks.embedEnd - f.t) / 1000)
    // raw: the same text model, the same batches of 64, tensors built in advance
    const tokenizer = createTokenizer('hf-tokenizer-json', tok.tokenizerJson, 'tokenizer.json', { json: tok.tokenizerConfig, file: 'tokenizer_config.json' })
    const text = pack.models.text
    const session = await openRaw(paths.stagePack, text.file, o.threads)
    const unique = readFileSync(join(paths.corpus, 'captions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string)
    const feeds: Record<string, ort.Tensor>[] = []
    for (let i = 0; i < unique.length; i += 64) {
      const b = tokenizer.batch(unique.slice(i, i + 64))
      const f: Record<string, ort.Tensor> = { [text.roles.ids]: new ort.Tensor('int64', b.ids, [b.batch, b.seq]) }
      if (text.roles.mask) f[text.roles.mask] = new ort.Tensor('int64', b.mask, [b.batch, b.seq])
      feeds.push(f)
    }
    await session.run(feeds[0]!, [text.roles.embeds])
    const t0 = performance.now()
    for (const f of feeds) await session.run(f, [text.roles.embeds])
    const rawPerSec = unique.length / ((performance.now() - t0) / 1000)
    await session.release()
    o.log(`photo: embeddings/s ours ${oursPerSec.toFixed(1)} raw ${rawPerSec.toFixed(1)}`)
    // one 12-MP JPEG (a real photo, skimage's astronaut, upscaled to 4000×3000)
    const jpeg = join(base, 'photo-12mp.jpg')
    const src = '/usr/lib/python3/dist-packages/skimage/data/astronaut.png'
    await (existsSync(src) ? sharp(src) : sharp({ create: { width: 512, height: 512, channels: 3, background: '#808080' } })).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(jpeg)
    const runs = o.quick ? 3 : 5
    const timings: Record<string, number>[] = []
    await engine.call('caption', { packDir: paths.stagePack, inputs: [{ file: jpeg }] })
    for (let i = 0; i < runs; i++) {
      const [r] = await engine.call('caption', { packDir: paths.stagePack, inputs: [{ file: jpeg }] })
      if (!r || 'error' in r) throw new Error(`photo: caption failed: ${r && 'error' in r ? r.error.message : 'no result'}`)
      timings.push(r.timings)
    }
    const names = Object.keys(timings[0]!).filter((k) => k !== 'total')
    const totalMs = median(timings.map((t) => t.total ?? names.reduce((s, k) => s + (t[k] ?? 0), 0)))
    const stages = names.map((stage) => {
      const ms = median(timings.map((t) => t[stage] ?? 0))
      return { stage, ms, share: ms / totalMs }
    })
    return { size, captions: rows, threads: o.threads, embed: { oursPerSec, rawPerSec, ratio: oursPerSec / rawPerSec, batch: 64 }, caption: { megapixels: 12, runs, stages, totalMs, regions: String(pack.defaults.regions) } }
  } finally {
    await engine.dispose()
  }
}

/** The docs/benchmarks.md section. */
export function photoMarkdown(p: PhotoBench): string[] {
  const model = new Set(['imageEncoder', 'textEncoder'])
  const worst = p.caption.stages.filter((s) => !model.has(s.stage)).sort((a, b) => b.share - a.share)[0]
  return [
    `## Photo pack (${p.size === 'full' ? 'ViT-B/32 size' : 'small'}, random weights, int8)`,
    '',
    `Datastore build, caption embeddings per second (batches of ${p.embed.batch}, ${p.threads} threads, ${p.captions.toLocaleString('en')} unique captions): ours (the build's embedCorpus: tokenize, encode, normalise, append to the checkpoint file) ${p.embed.oursPerSec.toFixed(1)}/s vs raw session.run on the same tensors ${p.embed.rawPerSec.toFixed(1)}/s → **${p.embed.ratio.toFixed(2)}×** (goal ≥ 0.9×). At this rate the ~590,000 COCO captions would take about ${Math.round(590000 / p.embed.oursPerSec / 60)} min on this machine (not a measured full run).`,
    '',
    `Caption one ${p.caption.megapixels}-megapixel JPEG (regions "${p.caption.regions}", retrieval + CLIP-S rerank + concepts), median of ${p.caption.runs} runs, ${p.caption.totalMs.toFixed(0)} ms in all:`,
    '',
    '| stage | ms | share |',
    '|---|---:|---:|',
    ...p.caption.stages.map((s) => `| ${s.stage}${model.has(s.stage) ? ' (model)' : ''} | ${s.ms.toFixed(1)} | ${(s.share * 100).toFixed(0)}% |`),
    '',
    worst ? `Largest non-model stage: ${worst.stage} at ${(worst.share * 100).toFixed(0)}% of the total (goal ≤ 25%).` : '',
    ''
  ]
}
