// Main process (plain Node). One export request, start to end: the output folder, the rows (with tags when
// the format or the request wants them) and the exporter for the format.
import { mkdir, realpath, stat } from 'node:fs/promises'
import type { ExportRequest, ExportResult } from '@shared/contract/exports'
import type { TagKind } from '@shared/contract/review'
import { StudioError } from '@shared/errors'
import type { CaptionsRepo } from '../store/captions-repo'
import type { DB } from '../store/db'
import { captionedOrTagged, tagsByImage } from '../store/export-repo'
import { exportFile } from './file-export'
import { exportSidecars } from './sidecar-export'
import { exportXmp } from './xmp-export'

async function outputDir(outDir: string | undefined, dryRun: boolean): Promise<string | undefined> {
  if (outDir === undefined) return undefined
  try {
    if (!dryRun) await mkdir(outDir, { recursive: true })
    const dir = await realpath(outDir).catch((err: NodeJS.ErrnoException) => {
      if (dryRun && err.code === 'ENOENT') return outDir
      throw err
    })
    if (!dryRun && !(await stat(dir)).isDirectory()) throw new Error('not a folder')
    return dir
  } catch (err) {
    throw new StudioError('invalid_input', `cannot export into "${outDir}": ${(err as Error).message}`)
  }
}

export async function runExport(db: DB, captions: CaptionsRepo, req: ExportRequest): Promise<ExportResult> {
  const dir = await outputDir(req.outDir, req.dryRun)
  const kinds: TagKind[] = [...(req.tags || req.format === 'xmp' ? (['keyword'] as const) : []), ...(req.concepts ? (['concept'] as const) : [])]
  if (req.format === 'xmp') {
    return exportXmp(captionedOrTagged(db, kinds, req.rootId), { naming: req.xmpNaming, merge: req.merge, dryRun: req.dryRun, ...(dir ? { outDir: dir } : {}) })
  }
  let rows = captions.acceptedForExport(req.rootId)
  if (kinds.length > 0) {
    const tags = tagsByImage(db, kinds)
    rows = rows.map((r) => ({ ...r, tags: tags.get(r.imageId) ?? [] }))
  }
  if (req.format === 'txt') return exportSidecars(rows, req.merge, dir, { ext: req.captionExt, dryRun: req.dryRun, ...(req.triggerWord ? { triggerWord: req.triggerWord } : {}) })
  return exportFile(req.format, rows, req.merge, dir, req.dryRun)
}
