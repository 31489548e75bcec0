// Engine worker. The pack builder's datastore step: turn the embedded corpus (corpus-embed.ts) into the
// pack's caption datastore files and the pack.json fragment that declares them. Runs in the worker because
// the files are large (590k × 512 embeddings) and index building is CPU-bound.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StudioError } from '@shared/errors'
import { readCorpusEmbeddings } from './corpus-embed'

export interface DatastoreSource {
  name: string
  licence: string
  attribution?: string
}

export interface WriteDatastoreArgs {
  corpusDir: string
  outDir: string
  dim: number
  source: DatastoreSource
}

export interface WriteDatastoreResult {
  rows: number
  /** Merged into pack.json (arrays.datastore, datastore). */
  fragment: Record<string, unknown>
  files: { path: string; bytes: number; sha256: string }[]
}

async function entry(dir: string, path: string): Promise<{ path: string; bytes: number; sha256: string }> {
  const h = createHash('sha256')
  for await (const c of createReadStream(join(dir, path))) h.update(c as Buffer)
  return { path, bytes: (await stat(join(dir, path))).size, sha256: h.digest('hex') }
}

export async function writeDatastore(args: WriteDatastoreArgs): Promise<WriteDatastoreResult> {
  const { captions } = await readCorpusEmbeddings(args.corpusDir, args.dim)
  if (captions.length === 0) throw new StudioError('invalid_input', 'the corpus has no usable captions')
  await mkdir(args.outDir, { recursive: true })
  // float32 rows exactly as embedded (the engine's `arrays.datastore` format)
  await copyFile(join(args.corpusDir, 'embeddings.f32'), join(args.outDir, 'datastore.f32'))
  await writeFile(join(args.outDir, 'datastore.json'), JSON.stringify(captions))
  return {
    rows: captions.length,
    fragment: { arrays: { datastore: { file: 'datastore.f32', shape: [captions.length, args.dim] } }, datastore: { captions: 'datastore.json' }, datastoreSource: args.source },
    files: [await entry(args.outDir, 'datastore.f32'), await entry(args.outDir, 'datastore.json')]
  }
}
