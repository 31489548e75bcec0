// Any Node process (onnxruntime-node, sharp). Bench part `ort-options`: ONNX Runtime session options measured,
// not guessed — for each model kind (image tower b=1, text tower b=1, decoder KV-cache step b=9), the same
// model under several session settings in alternating rounds, each ratio against the engine's default; and int8
// (hub_int8.py dynamic quantization) against fp32 towers: speed ratio and embedding cosine agreement.
// [Note: choosing] A setting replaces the default only if it beat it in every alternating round (the low end of
// the per-round spread above 1): on a shared 2-core machine anything less is noise. The choice is printed, and
// the engine's defaults (worker/session-tuning.ts) are set from it by hand, with the figure in its note.
import { existsSync } from 'node:fs'
import { prefixDecoders } from '../../engine/packs/pack-schema'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { Engine, PackJsonType } from '../../engine/worker'
import { ortOptions, DEFAULT_TUNING, type OrtTuning } from '../../engine/worker/session-tuning'
import { benchProvider, fakePixels } from './raw-ort'
import { measureInterleaved, ratioWithSpread, type MeasureOptions } from './stats'

export interface OrtOptionRow {
  kind: 'image' | 'text' | 'decoder'
  setting: string
  p50: number
  itemsPerSec: number
  ratio: number
  low: number | null
  high: number | null
}

export interface OrtOptionsResult {
  pack: string
  rows: OrtOptionRow[]
  int8: { kind: 'image' | 'text'; ratio: number; low: number | null; high: number | null; cosMin: number; cosMean: number; n: number }[]
  notes: string[]
}

const SETTINGS: { name: string; t: Partial<OrtTuning> }[] = [
  { name: 'default (all, intra = threads, inter 1, arena on)', t: {} },
  { name: 'graph optimisation basic', t: { graphOptimizationLevel: 'basic' } },
  { name: 'graph optimisation extended', t: { graphOptimizationLevel: 'extended' } },
  { name: 'intra-op 1', t: { intraOpThreads: 1 } },
  { name: 'inter-op 2 (parallel executor)', t: { interOpThreads: 2 } },
  { name: 'memory arena off', t: { memArena: false } }
]

function open(file: string, t: Partial<OrtTuning>, threads: number) {
  return ort.InferenceSession.create(file, { executionProviders: [benchProvider()], ...ortOptions({ ...DEFAULT_TUNING, ...t }, threads, threads) })
}

function cosines(a: Float32Array, b: Float32Array, dim: number): number[] {
  const out: number[] = []
  for (let r = 0; r < a.length / dim; r++) {
    let ab = 0, aa = 0, bb = 0
    for (let k = r * dim; k < (r + 1) * dim; k++) {
      ab += a[k]! * b[k]!
      aa += a[k]! ** 2
      bb += b[k]! ** 2
    }
    out.push(ab / Math.sqrt(aa * bb))
  }
  return out
}

export async function benchOrtOptions(o: { engine: Engine; packDir: string; pack: PackJsonType; images: readonly string[]; texts: readonly string[]; threads: number; measure: MeasureOptions; log: (l: string) => void }): Promise<OrtOptionsResult> {
  const p = o.pack
  const rows: OrtOptionRow[] = []
  const notes: string[] = []
  const tok = o.engine.pack.tokenizer
  const tr = p.models.text.roles
  const textFeeds = (texts: readonly string[]) => {
    const t = tok.batch(texts)
    const f: Record<string, ort.Tensor> = { [tr.ids]: new ort.Tensor('int64', t.ids, [t.batch, t.seq]) }
    if (tr.mask) f[tr.mask] = new ort.Tensor('int64', t.mask, [t.batch, t.seq])
    return f
  }
  const decs = prefixDecoders(p.decoders)
  const dec = decs.find((d) => d.id === (p.defaultDecoder ?? '')) ?? decs[0]
  const kinds: { kind: OrtOptionRow['kind']; file: string; batch: number; run: (s: ort.InferenceSession) => Promise<unknown> }[] = [
    { kind: 'image', file: p.models.image.file, batch: 1, run: (s) => s.run({ [p.models.image.roles.pixels]: fakePixels(1, p.preprocess.size) }, [p.models.image.roles.embeds]) },
    { kind: 'text', file: p.models.text.file, batch: 1, run: (s) => s.run(textFeeds(o.texts.slice(0, 1)), [tr.embeds]) }
  ]
  if (dec?.cache && dec.roles.present) {
    // a past of 10 tokens for 9 rows, from the main model on 10 bos tokens
    const init = await ort.InferenceSession.create(join(o.packDir, dec.file), { executionProviders: ['cpu'], intraOpNumThreads: o.threads })
    const B = 9
    const r = await init.run({ [dec.roles.prefix]: new ort.Tensor('float32', new Float32Array(B * p.embedDim).fill(1 / Math.sqrt(p.embedDim)), [B, p.embedDim]), [dec.roles.ids]: new ort.Tensor('int64', new BigInt64Array(B * 10).fill(BigInt(tok.bos)), [B, 10]) }, [dec.roles.present])
    const past = r[dec.roles.present] as ort.Tensor
    await init.release()
    const c = dec.cache
    const ids = new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(tok.bos)), [B, 1])
    kinds.push({ kind: 'decoder', file: c.file, batch: B, run: (s) => s.run({ [c.roles.ids]: ids, [c.roles.past]: past }, [c.roles.logits, c.roles.present]) })
  }
  for (const k of kinds) {
    o.log(`ort-options: ${k.kind} (${k.file}), ${SETTINGS.length} settings`)
    const sessions = await Promise.all(SETTINGS.map((s) => open(join(o.packDir, k.file), s.t, o.threads)))
    const fns = Object.fromEntries(SETTINGS.map((s, i) => [s.name, () => k.run(sessions[i]!)]))
    const res = await measureInterleaved(k.batch, fns, o.measure)
    const base = res[SETTINGS[0]!.name]!
    for (const s of SETTINGS) {
      const x = res[s.name]!
      const r = ratioWithSpread(x, base)
      rows.push({ kind: k.kind, setting: s.name, p50: x.p50, itemsPerSec: x.itemsPerSec, ratio: r.ratio, low: r.low, high: r.high })
      o.log(`  ${k.kind} · ${s.name}: p50 ${x.p50.toFixed(2)} ms, ${r.ratio.toFixed(2)}× default`)
    }
    for (const s of sessions) await s.release()
    const better = rows.filter((r) => r.kind === k.kind && r.setting !== SETTINGS[0]!.name && r.low !== null && r.low > 1)
    notes.push(better.length
      ? `${k.kind}: ${better.map((b) => `${b.setting} beat the default in every round (${b.ratio.toFixed(2)}×, ${b.low!.toFixed(2)}–${b.high!.toFixed(2)})`).join('; ')}`
      : `${k.kind}: no setting beat the default in every round; the default stays`)
  }

  // int8 vs fp32 towers (files from tools/modelkit/quantize_random_vitb32.py)
  const int8: OrtOptionsResult['int8'] = []
  const pre = await o.engine.preprocess(o.images.slice(0, 16))
  const px = pre.flatMap((x) => (x.ok ? [x.value.pixels] : []))
  const S = p.preprocess.size
  for (const kind of ['image', 'text'] as const) {
    const fp32 = kind === 'image' ? p.models.image.file : p.models.text.file
    const q = join(o.packDir, fp32.replace(/\.onnx$/, '_int8.onnx'))
    if (!existsSync(q)) {
      notes.push(`int8 ${kind}: ${q} not found (tools/modelkit/quantize_random_vitb32.py writes it)`)
      continue
    }
    o.log(`ort-options: int8 vs fp32 ${kind}`)
    const [a, b] = await Promise.all([open(join(o.packDir, fp32), {}, o.threads), open(q, {}, o.threads)])
    const one = kinds.find((x) => x.kind === kind)!
    const res = await measureInterleaved(1, { int8: () => one.run(b), fp32: () => one.run(a) }, o.measure)
    const r = ratioWithSpread(res.int8!, res.fp32!)
    let cos: number[]
    if (kind === 'image') {
      const all = new Float32Array(px.length * 3 * S * S)
      px.forEach((x, i) => all.set(x, i * 3 * S * S))
      const feed = { [p.models.image.roles.pixels]: new ort.Tensor('float32', all, [px.length, 3, S, S]) }
      const e = p.models.image.roles.embeds
      cos = cosines((await a.run(feed, [e]))[e]!.data as Float32Array, (await b.run(feed, [e]))[e]!.data as Float32Array, p.embedDim)
    } else {
      const feed = textFeeds(o.texts.slice(0, 16))
      cos = cosines((await a.run(feed, [tr.embeds]))[tr.embeds]!.data as Float32Array, (await b.run(feed, [tr.embeds]))[tr.embeds]!.data as Float32Array, p.embedDim)
    }
    int8.push({ kind, ratio: r.ratio, low: r.low, high: r.high, cosMin: Math.min(...cos), cosMean: cos.reduce((x, y) => x + y, 0) / cos.length, n: cos.length })
    await a.release()
    await b.release()
  }
  return { pack: `${p.id}@${p.version}`, rows, int8, notes }
}

export function ortOptionsMarkdown(r: OrtOptionsResult): string[] {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
  const spread = (x: { ratio: number; low: number | null; high: number | null }) => `${x.ratio.toFixed(2)}×${x.low !== null && x.high !== null ? ` (${x.low.toFixed(2)}–${x.high.toFixed(2)})` : ''}`
  const out = [`## ONNX Runtime session options (${r.pack})`, '', 'Each model kind under each setting, measured in alternating rounds; throughput ÷ the engine default (per-round range). The engine keeps its default unless a setting wins every round (worker/session-tuning.ts; override with CAPTION_STUDIO_ORT_OPT / _INTRA / _INTER / _ARENA, optionally _IMAGE / _TEXT / _DECODER).', '', '| model | setting | p50 ms | items / s | ÷ default |', '|---|---|---:|---:|---:|']
  for (const x of r.rows) out.push(`| ${x.kind} | ${x.setting} | ${f(x.p50)} | ${f(x.itemsPerSec)} | ${spread(x)} |`)
  out.push('')
  if (r.int8.length) {
    out.push('int8 (dynamic quantization, tools/modelkit/hub_int8.py; random weights) vs fp32, b=1:', '', '| tower | int8 ÷ fp32 throughput | embedding cosine, min / mean |', '|---|---:|---:|')
    for (const x of r.int8) out.push(`| ${x.kind} | ${spread(x)} | ${x.cosMin.toFixed(4)} / ${x.cosMean.toFixed(4)} (${x.n} inputs) |`)
    out.push('')
  }
  for (const n of r.notes) out.push(`- ${n}`)
  out.push('')
  return out
}
