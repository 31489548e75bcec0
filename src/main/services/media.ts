// Main process / serve (plain Node). [Note: media trust] Media are addressed by image id, never by a path
// the renderer chooses: `/media/thumb/<id>` and `/media/image/<id>`. The file is resolved from the store and
// must still lie (real path) under its live library root; anything else is refused.
import { extname } from 'node:path'
import { StudioError } from '@shared/errors'
import { resolveUnderRoot } from '../library/safe-path'
import type { ServiceContext } from './context'

const TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif',
  '.tif': 'image/tiff', '.tiff': 'image/tiff', '.avif': 'image/avif'
}

export interface MediaFile {
  path: string
  contentType: string
}

/** Parses `/media/<kind>/<id>` (query ignored). Returns null for anything else. */
export function parseMediaPath(pathname: string): { kind: 'thumb' | 'image'; id: number } | null {
  const m = /^\/media\/(thumb|image)\/([1-9][0-9]{0,15})$/.exec(pathname)
  if (!m) return null
  return { kind: m[1] as 'thumb' | 'image', id: Number(m[2]) }
}

export async function resolveMedia(ctx: ServiceContext, kind: 'thumb' | 'image', id: number): Promise<MediaFile> {
  const img = ctx.images.get(id)
  const root = img ? ctx.images.root(img.root_id) : undefined
  if (!img || !root || root.removed_at) throw new StudioError('not_found', `image ${id} not found`)
  const real = await resolveUnderRoot(root.path, img.rel_path)
  if (!real) throw new StudioError('not_found', `image ${id} is missing or outside its library root`)
  if (kind === 'image') return { path: real, contentType: TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream' }
  try {
    return { path: await ctx.thumbs.ensure(img.hash, real), contentType: 'image/webp' }
  } catch (err) {
    throw new StudioError('decode_error', `cannot make a thumbnail: ${(err as Error).message}`)
  }
}
