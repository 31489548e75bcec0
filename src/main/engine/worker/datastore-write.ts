// Engine worker. The pack builder's datastore step: stream the embedded corpus (corpus-embed.ts) through the
// compact datastore writer (packs/datastore-writer.ts: int8 rows, captions blob, HNSW index above the
// exact-scan size) into the pack folder. Runs in the worker: the index build is CPU-bound for minutes at
// full COCO size, and the embeddings file is read in chunks, never whole.
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { StudioError } from '@shared/errors'
import { DatastoreWriter } from '../packs/datastore-writer'
import type { CompactDatastoreSpec } from '../packs/pack-schema'

export interface DatastoreSourceInfo {
  name: string
  licence: string
  attribution?: string
  url?: string
}

export interface WriteDatastoreArgs {
  corpusDir: string
  outDir: string
  dim: number
  source: DatastoreSourceInfo
  threads?: number
}

export interface WriteDatastoreResult {
  rows: number
  duplicates: number
  indexSeconds: number | null
  datastore: CompactDatastoreSpec
  files: { path: string; bytes: number; sha256: string }[]
}

const CHUNK = 4096

export async function writeDatastore(args: WriteDatastoreArgs, signal: AbortSignal, onProgress: (p: { done: number; total: number }) => void): Promise<WriteDatastoreResult> {
  const w = await DatastoreWriter.create(args.outDir, {
    dim: args.dim,
    sources: [{ id: 0, ...args.source }],
    threads: args.threads ?? 2,
    signal,
    onProgress: (p) => onProgress({ done: p.done, total: p.total })
  })
  const emb = await open(join(args.corpusDir, 'embeddings.f32'), 'r')
  try {
    const rl = createInterface({ input: createReadStream(join(args.corpusDir, 'captions.jsonl'), 'utf8'), crlfDelay: Infinity })
    let batch: string[] = []
    let row = 0
    const flush = async () => {
      if (!batch.length) return
      const bytes = batch.length * args.dim * 4
      const buf = Buffer.alloc(bytes)
      const { bytesRead } = await emb.read(buf, 0, bytes, row * args.dim * 4)
      if (bytesRead !== bytes) throw new StudioError('model_error', `${args.corpusDir}: embeddings end at row ${row + Math.floor(bytesRead / (args.dim * 4))}, captions go on`)
      const f = new Float32Array(batch.length * args.dim)
      for (let i = 0; i < f.length; i++) f[i] = buf.readFloatLE(i * 4)
      await w.add(batch, f, 0)
      row += batch.length
      batch = []
    }
    for await (const line of rl) {
      if (signal.aborted) throw new StudioError('cancelled', 'datastore build cancelled')
      if (!line) continue
      batch.push(JSON.parse(line) as string)
      if (batch.length >= CHUNK) await flush()
    }
    await flush()
    const r = await w.finish()
    return { rows: r.stats.rows, duplicates: r.stats.duplicates, indexSeconds: r.stats.indexSeconds, datastore: r.datastore, files: r.files }
  } catch (err) {
    await w.abort().catch(() => undefined)
    throw err
  } finally {
    await emb.close()
  }
}
