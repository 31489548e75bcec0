// Main process / serve / CLI (plain Node). Handlers of the captions and exports domains.
import { StudioError } from '@shared/errors'
import { runExport } from '../exports/run-export'
import { hostAbsolutePath } from './user-path'
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
    'exports.run': (req) => {
      if (req.outDir !== undefined) hostAbsolutePath(req.outDir, 'export folder')
      // refuse before anything is created on disk (the output folder is made on the way)
      if (req.merge === 'append' && req.format !== 'txt') throw new StudioError('invalid_input', `append is only for .txt sidecars; choose skip or overwrite for ${req.format}`)
      return runExport(ctx.db, ctx.captions, req)
    }
  }
}
