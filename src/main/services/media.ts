// Main process / serve (plain Node). [Note: media trust] Media are addressed by image id, never by a path
// the renderer chooses: `/media/thumb/<id>` and `/media/image/<id>`. The file is resolved from the store and
// must still lie (real path) under its live library root (library/image-path.ts); anything else is refused.
import { StudioError } from '@shared/errors'
import { resolveImage } from '../library/image-path'
import type { ServiceContext } from './context'
import { openFile, type OpenFile } from './static-files'

/** Parses `/media/<kind>/<id>` (query ignored). Returns null for anything else. */
export function parseMediaPath(pathname: string): { kind: 'thumb' | 'image'; id: number } | null {
  const m = /^\/media\/(thumb|image)\/([1-9][0-9]{0,15})$/.exec(pathname)
  if (!m) return null
  return { kind: m[1] as 'thumb' | 'image', id: Number(m[2]) }
}

/** The image itself (served with its own content type) or its thumbnail (WebP, made on first use). */
export async function resolveMedia(ctx: ServiceContext, kind: 'thumb' | 'image', id: number): Promise<OpenFile> {
  const img = await resolveImage(ctx.images, id)
  let path = img.path
  if (kind === 'thumb') {
    try {
      path = await ctx.thumbs.ensure(img.hash, img.path)
    } catch (err) {
      throw new StudioError('decode_error', `cannot make a thumbnail: ${(err as Error).message}`)
    }
  }
  return openFile(path).catch(() => {
    throw new StudioError('not_found', `image ${id} is missing`)
  })
}
