// Main process / serve / CLI (plain Node). The perceptual hashes of library images ([Note: crop windows]):
// read from the store by content hash, else computed in the engine worker (engine/worker/phash.ts) a few
// files per request and stored. A file that cannot be decoded gets no hash and is never confirmed.
import type { EngineCaller } from '../engine/client'
import type { EmbeddingsRepo } from '../store/embeddings-repo'
import type { ImagesRepo } from '../store/images-repo'
import type { PhashSource } from './library-search'

export function createPhashSource(deps: { repo: EmbeddingsRepo; images: ImagesRepo; imagePath(id: number): string; engine: EngineCaller }): PhashSource {
  return {
    async phashes(imageIds, signal) {
      const out = new Map<number, string | null>()
      const todo: { id: number; hash: string; file: string }[] = []
      for (const id of imageIds) {
        const img = deps.images.get(id)
        if (!img || img.missing || img.error) {
          out.set(id, null)
          continue
        }
        const cached = deps.repo.phash(img.hash)
        if (cached) out.set(id, cached)
        else {
          try {
            todo.push({ id, hash: img.hash, file: deps.imagePath(id) })
          } catch {
            out.set(id, null)
          }
        }
      }
      for (let i = 0; i < todo.length; i += 16) {
        const part = todo.slice(i, i + 16)
        const res = await deps.engine.call('perceptualHashes', { files: part.map((t) => t.file) }, signal ? { signal } : {})
        part.forEach((t, k) => {
          const r = res[k]
          const hex = r && 'hash' in r ? r.hash : null
          if (hex) deps.repo.putPhash(t.hash, hex)
          out.set(t.id, hex)
        })
      }
      return out
    }
  }
}
