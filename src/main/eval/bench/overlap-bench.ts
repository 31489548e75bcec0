// Any Node process (onnxruntime-node, sharp). issue 16 item 4: image file → embedding against raw inference
// alone at ViT-B/32 size, under the thread settings that decide whether decoding can hide behind the encoder:
// ONNX Runtime intra-op threads 1 / 2, sharp (libvips) concurrency 1 / 2, and the libuv pool size in effect
// (UV_THREADPOOL_SIZE is read once at start-up, so it is varied by running the part under another value).
// [Note: overlap bench] Per setting and batch size, three rows in alternating rounds: raw session.run on
// pixels prepared in advance (the ceiling), the engine's embedImages (pieces of a batch decoded while the
// one before is encoded, [Note: preprocess ahead]), and the same files preprocessed then encoded one after
// the other (no overlap). The ratios to raw are this run's; nothing here is a timed assertion.
import sharp from 'sharp'
import { Engine, type PackJsonType } from '../../engine/worker'
import { benchProvider, fakePixels, openRaw } from './raw-ort'
import { measureInterleaved, type MeasureOptions } from './stats'

export interface OverlapRow {
  intraOp: number
  sharpConcurrency: number
  uvPool: number
  batch: number
  rawPerSec: number
  overlappedPerSec: number
  sequentialPerSec: number
  /** Per-round ratios overlapped ÷ raw (their spread is the run's noise). */
  roundRatios: number[]
}

export async function benchOverlap(o: { packDir: string; pack: PackJsonType; images: readonly string[]; batches: number[]; measure: MeasureOptions; log: (l: string) => void }): Promise<OverlapRow[]> {
  const rows: OverlapRow[] = []
  const uvPool = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
  const fetch = [o.pack.models.image.roles.embeds]
  const files = (b: number, i: number) => Array.from({ length: b }, (_, k) => o.images[(i * b + k) % o.images.length]!)
  for (const intraOp of [1, 2]) {
    const engine = await Engine.open(o.packDir, { providers: [benchProvider()], intraOpThreads: intraOp, preprocessAhead: true })
    const raw = await openRaw(o.packDir, o.pack.models.image.file, intraOp)
    try {
      await engine.warm()
      for (const sharpConcurrency of [1, 2]) {
        sharp.concurrency(sharpConcurrency)
        for (const b of o.batches) {
          const input = fakePixels(b, o.pack.preprocess.size)
          const res = await measureInterleaved(b, {
            raw: () => raw.run({ [o.pack.models.image.roles.pixels]: input }, fetch),
            overlapped: (i) => engine.embedImages(files(b, i)),
            sequential: async (i) => {
              const pre = await engine.preprocess(files(b, i))
              return engine.encodePixels(pre.flatMap((p) => (p.ok ? [p.value.pixels] : [])), false)
            }
          }, o.measure)
          const r = res.raw!
          const ov = res.overlapped!
          const row: OverlapRow = {
            intraOp,
            sharpConcurrency,
            uvPool,
            batch: b,
            rawPerSec: r.itemsPerSec,
            overlappedPerSec: ov.itemsPerSec,
            sequentialPerSec: res.sequential!.itemsPerSec,
            roundRatios: (ov.rounds ?? []).map((x, k) => x / (r.rounds?.[k] ?? NaN))
          }
          o.log(`  overlap: intra-op ${intraOp}, sharp ${sharpConcurrency}, uv ${uvPool}, b=${b}: raw ${row.rawPerSec.toFixed(2)}/s, overlapped ${row.overlappedPerSec.toFixed(2)}/s, sequential ${row.sequentialPerSec.toFixed(2)}/s`)
          rows.push(row)
        }
      }
    } finally {
      await raw.release()
      await engine.close()
    }
  }
  sharp.concurrency(0)
  return rows
}

export function overlapFindings(rows: readonly OverlapRow[], pack: string): string[] {
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`
  return rows.map((r) => {
    const range = r.roundRatios.length ? ` (rounds ${Math.min(...r.roundRatios).toFixed(2)}–${Math.max(...r.roundRatios).toFixed(2)})` : ''
    return `${pack}, image file → embedding ÷ raw inference alone, b=${r.batch}, intra-op ${r.intraOp}, sharp concurrency ${r.sharpConcurrency}, UV_THREADPOOL_SIZE ${r.uvPool}: overlapped ${x(r.overlappedPerSec, r.rawPerSec)}${range}, preprocess-then-encode ${x(r.sequentialPerSec, r.rawPerSec)} (raw ${r.rawPerSec.toFixed(2)} images/s)`
  })
}
