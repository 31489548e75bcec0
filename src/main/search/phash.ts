// Main process / serve / CLI (plain Node; sharp through sharp-phash). Perceptual hashes of library images for
// the near-duplicate confirmation ([Note: near-duplicate groups]): sharp-phash 2.2.0 (a 32×32 greyscale DCT,
// 64 low-frequency bits against their median), cached by content hash in the store, computed on demand.
import phash from 'sharp-phash'
import type { EmbeddingsRepo } from '../store/embeddings-repo'
import type { ImagesRepo } from '../store/images-repo'
import type { PhashSource } from './library-search'
import { bitsToHex } from './grouping'

export function createPhashSource(deps: { repo: EmbeddingsRepo; images: ImagesRepo; imagePath(id: number): string; limitInputPixels?: number }): PhashSource {
  return {
    async phash(imageId) {
      const img = deps.images.get(imageId)
      if (!img || img.missing || img.error) return null
      const cached = deps.repo.phash(img.hash)
      if (cached) return cached
      try {
        const hex = bitsToHex(await phash(deps.imagePath(imageId), { limitInputPixels: deps.limitInputPixels ?? 268_402_689 }))
        deps.repo.putPhash(img.hash, hex)
        return hex
      } catch {
        // an unreadable file is simply never confirmed as a duplicate
        return null
      }
    }
  }
}
