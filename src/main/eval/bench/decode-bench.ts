// Any Node process (onnxruntime-node). Decoder speed of one pack: greedy and beam-3 decoding of a batch like
// 8 noise samples + the clean one, (a) raw session.run loops — the ceiling, (b) our engine with the next-token
// tail in the graph (packs/graph-decode-tail.ts), (c) our engine with the JavaScript next-token path (full
// logits per step; what the engine did before the tail), (d) without the KV cache where the pack has one.
// [Note: decode ceilings] The raw loops fetch the same outputs as a JS-side decoder would (logits, present)
// and do no bookkeeping. Beam W: the main model runs once on the B prefixes, `present` is tiled to B·W rows
// once, then every step runs on B·W rows — no reordering of the cache, which ours must do as beams are re-ranked.
// Both rows run the number of steps the engine needed for these prefixes (the longest caption).
import type { Engine, PackJsonType } from '../../engine/worker'
import { prefixDecoders } from '../../engine/packs/pack-schema'
import { DECODE_TAIL_MIN_VOCAB } from '../../engine/worker/engine'
import type { Vec } from '../../engine/math/linalg'
import { topK } from '../../engine/math/linalg'
import { openRaw, rawCachedBeamSteps, rawCachedDecodeSteps, rawDecodeSteps } from './raw-ort'
import { measureInterleaved, type MeasureOptions, type Summary } from './stats'
import type { BenchRow, ClipBenchResult, Impl } from './clip-bench'

export interface DecodeBenchOptions {
  engine: Engine
  packDir: string
  pack: PackJsonType
  prefixes: readonly Vec[]
  threads: number
  measure: MeasureOptions
  beams: number[]
  /** Also the rows that re-run the whole sequence when the decoder has a cache (default true; the decode-only
   *  part leaves them out: at ViT-B/32 size they take 4× the cached rows' time and are not what it is for). */
  rerunRows?: boolean
  log: (line: string) => void
}

export async function benchDecode(o: DecodeBenchOptions, add: (stage: string, impl: Impl, s: Summary) => void): Promise<Pick<ClipBenchResult, 'notes' | 'hotspots'>> {
  const packName = `${o.pack.id}@${o.pack.version}`
  const notes: string[] = []
  const hotspots: ClipBenchResult['hotspots'] = []
  const decs = prefixDecoders(o.pack.decoders)
  const dec = decs.find((d) => d.id === (o.pack.defaultDecoder ?? '')) ?? decs[0]
  if (!dec) return { notes, hotspots }
  const { engine, prefixes: embs } = o
  o.log(`${packName}: decoder ${dec.id}, batch ${embs.length}`)
  const maxLength = o.pack.defaults.maxLength
  const rawDec = await openRaw(o.packDir, dec.file, o.threads)
  const rawStep = dec.cache ? await openRaw(o.packDir, dec.cache.file, o.threads) : null
  const bos = engine.pack.tokenizer.bos
  for (const beam of o.beams) {
    const first = await engine.decode(dec.id, embs, { beam, maxLength })
    const steps = Math.min(maxLength, Math.max(...first.map((d) => d.ids.length)))
    const name = beam === 1 ? `greedy decode, ${steps} steps (b=${embs.length})` : `beam-${beam} decode, ${steps} steps (b=${embs.length})`
    const fns: Partial<Record<Impl, (i: number) => Promise<unknown>>> = {}
    const rerun = !rawStep || o.rerunRows !== false
    if (beam === 1 && rerun) fns['raw session.run'] = rawDecodeSteps(rawDec, o.pack, dec.id, embs.length, steps, bos)
    if (rawStep) fns['raw session.run, KV cache'] = beam === 1 ? rawCachedDecodeSteps(rawDec, rawStep, o.pack, dec.id, embs.length, steps, bos) : rawCachedBeamSteps(rawDec, rawStep, o.pack, dec.id, embs.length, beam, steps, bos)
    fns.ours = () => engine.decode(dec.id, embs, { beam, maxLength })
    fns['ours, JS next-token'] = () => engine.decode(dec.id, embs, { beam, maxLength, tail: false })
    if (rawStep && beam === 1 && rerun) fns['ours, no cache'] = () => engine.decode(dec.id, embs, { beam, maxLength, cache: false })
    const res = await measureInterleaved(embs.length, fns as Record<string, (i: number) => Promise<unknown>>, o.measure)
    for (const impl of Object.keys(fns) as Impl[]) add(name, impl, res[impl]!)
    // the two engine paths must agree token for token (the decode-tail test checks it on the fixtures; this
    // checks it on this pack's prefixes)
    const js = await engine.decode(dec.id, embs, { beam, maxLength, tail: false })
    const same = js.every((d, i) => d.ids.join(' ') === first[i]!.ids.join(' '))
    notes.push(`${packName}: ${name}: tokens with the graph's next-token tail vs the JavaScript path: ${same ? 'identical' : '**different**'} for all ${embs.length} prefixes.`)
  }
  await rawDec.release()
  await rawStep?.release()
  const vocab = Number(dec.outputs.find((x) => x.name === dec.roles.logits)?.shape[2])
  const tailUsed = Number.isFinite(vocab) && vocab >= DECODE_TAIL_MIN_VOCAB
  notes.push(`${packName}: ` + (tailUsed ? `"ours" picks the next tokens with a log-softmax + top-k tail appended to the decoder graph (k per hypothesis cross into JS); "ours, JS next-token" fetches the logits and does both in JavaScript.` : `the ${vocab}-word vocabulary is below the engine's tail threshold (${DECODE_TAIL_MIN_VOCAB}), so "ours" and "ours, JS next-token" both take the JavaScript path (their difference is this run's noise).`) + (rawStep ? ` Decoder ${dec.id} has a KV-cache step model, so "ours" decodes incrementally and "raw session.run, KV cache" is its ceiling (it fetches the full logits, as a JS-side decoder must); "raw session.run" and "ours, no cache" re-run the whole sequence every step.` : ''))
  // Hotspot check for the JavaScript path: linalg.topK (partial selection) vs a bare linear argmax on an array
  // of the decoder's vocabulary size.
  const V = Number(dec.outputs[0]?.shape[2]) || 0
  if (V > 0) {
    const values = new Float32Array(V).map((_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1)
    const argmax = (a: Float32Array) => {
      let b = 0
      for (let i = 1; i < a.length; i++) if (a[i]! > a[b]!) b = i
      return b
    }
    const res = await measureInterleaved(1, { sort: async () => topK(values, 1), scan: async () => argmax(values) }, { ...o.measure, minSeconds: 1 })
    hotspots.push({ what: `JS next-token path, choice over a ${V}-word vocabulary: linalg.topK (partial selection) vs a bare linear argmax`, aMs: res.sort!.p50, bMs: res.scan!.p50, perCaption: 20 * embs.length, unit: 'calls per 9-sample greedy caption of 20 steps' })
  }
  notes.push(`${packName}: the decode rows run as many steps as the longest caption the engine produced for these prefixes; the engine stops a batch when every hypothesis has ended.`)
  return { notes, hotspots }
}

/** A decode-only result for `--only decode` (no towers, no pipelines). */
export async function benchDecodeOnly(o: Omit<DecodeBenchOptions, 'prefixes' | 'engine'> & { engine: Engine; images: readonly string[]; decodeBatch: number }): Promise<ClipBenchResult> {
  const rows: BenchRow[] = []
  const packName = `${o.pack.id}@${o.pack.version}`
  const prefixes = (await o.engine.embedImages(o.images.slice(0, o.decodeBatch))).flatMap((r) => ('embedding' in r ? [r.embedding] : []))
  const r = await benchDecode({ ...o, prefixes }, (stage, impl, summary) => {
    rows.push({ pack: packName, stage, impl, summary })
    o.log(`  ${stage} · ${impl}: p50 ${summary.p50.toFixed(2)} ms (${summary.n} runs)`)
  })
  return { pack: packName, rows, pipelines: [], ...r }
}
