// Main process / serve / CLI (plain Node). Handlers of the captions and exports domains.
import { mkdir, realpath, stat } from 'node:fs/promises'
import { StudioError } from '@shared/errors'
import { hostAbsolutePath } from './user-path'
import { exportFile } from '../exports/file-export'
import { exportSidecars } from '../exports/sidecar-export'
import type { Handlers } from './dispatch'
import type { ServiceContext } from './context'

type CaptionHandlers = Pick<Handlers, 'captions.forImage' | 'captions.accept' | 'captions.reject' | 'captions.undo' | 'exports.run'>

export function createCaptionHandlers(ctx: ServiceContext): CaptionHandlers {
  const requireImage = (id: number) => {
    if (!ctx.images.get(id)) throw new StudioError('not_found', `image ${id} not found`)
  }
  return {
    'captions.forImage': ({ imageId }) => {
      requireImage(imageId)
      return ctx.captions.forImage(imageId)
    },
    'captions.accept': ({ imageId, text, source, scores, fromCandidateId }) => {
      requireImage(imageId)
      const r = ctx.captions.accept(imageId, text, source, scores, fromCandidateId)
      ctx.emit({ type: 'captions.changed', imageId })
      return r
    },
    'captions.reject': ({ captionId }) => {
      const c = ctx.captions.reject(captionId)
      ctx.emit({ type: 'captions.changed', imageId: c.imageId })
      return c
    },
    'captions.undo': ({ imageId, captionId, previousId }) => {
      const restored = ctx.captions.undo(imageId, captionId, previousId)
      ctx.emit({ type: 'captions.changed', imageId })
      return { restored }
    },
    'exports.run': async ({ format, rootId, outDir, merge }) => {
      // Refuse before anything is created on disk (the folder below is made on the way).
      if (merge === 'append' && format !== 'txt') throw new StudioError('invalid_input', `append is only for .txt sidecars; choose skip or overwrite for ${format}`)
      let dir: string | undefined
      if (outDir !== undefined) {
        hostAbsolutePath(outDir, 'export folder')
        try {
          await mkdir(outDir, { recursive: true })
          dir = await realpath(outDir)
          if (!(await stat(dir)).isDirectory()) throw new Error('not a folder')
        } catch (err) {
          throw new StudioError('invalid_input', `cannot export into "${outDir}": ${(err as Error).message}`)
        }
      }
      const rows = ctx.captions.acceptedForExport(rootId)
      return format === 'txt' ? exportSidecars(rows, merge, dir) : exportFile(format, rows, merge, dir)
    }
  }
}
