// Main process / serve / CLI (plain Node). [Note: media trust] Where a library image is on disk, written
// once for every caller: the media routes (Electron protocol and serve), the engine handlers (files sent to
// the worker) and analysis. The image must exist, its root must be live, and its real path must still lie
// under the root's real path (safe-path.ts); anything else is `not_found` with the reason.
import { StudioError } from '@shared/errors'
import type { ImageRow, ImagesRepo } from '../store/images-repo'
import { resolveUnderRoot, resolveUnderRootSync } from './safe-path'

type Images = Pick<ImagesRepo, 'get' | 'root'>

function locate(images: Images, id: number): { img: ImageRow; rootPath: string } {
  const img = images.get(id)
  const root = img ? images.root(img.root_id) : undefined
  if (!img || !root || root.removed_at) throw new StudioError('not_found', `image ${id} not found`)
  return { img, rootPath: root.path }
}

function checked(id: number, real: string | null): string {
  if (!real) throw new StudioError('not_found', `image ${id} is missing or outside its library root`)
  return real
}

/** The real path of image `id` and its content hash (the thumbnail key). */
export async function resolveImage(images: Images, id: number): Promise<{ path: string; hash: string }> {
  const { img, rootPath } = locate(images, id)
  return { path: checked(id, await resolveUnderRoot(rootPath, img.rel_path)), hash: img.hash }
}

/** The real path of image `id`, synchronously (callers that map many ids to files in one step). */
export function resolveImageSync(images: Images, id: number): string {
  const { img, rootPath } = locate(images, id)
  return checked(id, resolveUnderRootSync(rootPath, img.rel_path))
}
