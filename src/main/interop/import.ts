// Main process (plain Node). One import, start to end: pick the reader for the format, match its records
// against the library, and either return the plan's summary (preview) or write it (apply).
import { realpath } from 'node:fs/promises'
import type { ImportRequest, ImportSummary } from '@shared/contract/interop'
import { StudioError } from '@shared/errors'
import { readEmbeddedUnder } from './embedded-read'
import { applyPlan, planImport, type PlanDeps } from './import-plan'
import { LibraryIndex } from './library-index'
import { readCoco, readCsv, readJsonl, type DatasetOptions } from './read-datasets'
import { readTextSidecars, readXmpSidecars } from './read-sidecars'
import type { SourceRead } from './types'

export async function readSource(index: LibraryIndex, req: ImportRequest): Promise<SourceRead> {
  const dataset: DatasetOptions = {
    keywords: req.keywords,
    ...(req.imagesDir ? { imagesDir: req.imagesDir } : {}),
    ...(req.fileColumn ? { fileColumn: req.fileColumn } : {}),
    ...(req.textColumn ? { textColumn: req.textColumn } : {}),
    ...(req.tagsColumn ? { tagsColumn: req.tagsColumn } : {}),
    ...(req.delimiter ? { delimiter: req.delimiter } : {})
  }
  switch (req.format) {
    case 'txt':
    case 'caption':
      return readTextSidecars(req.path, { ext: req.format === 'txt' ? '.txt' : '.caption', textAs: req.textAs, keywords: req.keywords, ...(req.stripTrigger ? { stripTrigger: req.stripTrigger } : {}) })
    case 'xmp':
      return readXmpSidecars(req.path, { keywords: req.keywords })
    case 'jsonl':
      return readJsonl(req.path, dataset)
    case 'coco':
      return readCoco(req.path, dataset)
    case 'csv':
      return readCsv(req.path, dataset)
    case 'embedded': {
      let abs: string
      try {
        abs = await realpath(req.path)
      } catch {
        throw new StudioError('not_found', `"${req.path}" does not exist`)
      }
      return readEmbeddedUnder(index, abs, { keywords: req.keywords })
    }
  }
}

export async function runImport(deps: PlanDeps, req: ImportRequest, apply: boolean): Promise<ImportSummary> {
  const index = new LibraryIndex(deps.db)
  if (index.size === 0) throw new StudioError('invalid_input', 'the library is empty: add the image folders first, then import their captions')
  if (req.rootId !== undefined && !index.hasRoot(req.rootId)) throw new StudioError('not_found', `root ${req.rootId} not found`)
  const read = await readSource(index, req)
  const plan = planImport(deps, index, read, req)
  return apply ? applyPlan(deps, plan, req.format) : plan.summary
}
