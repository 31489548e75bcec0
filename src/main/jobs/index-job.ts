// Main process / serve / CLI (plain Node). The "index library" job ([Note: item jobs]): embed every visible
// image that has no embedding in a pack space yet, a few images per engine request, each stored with its job
// item in one transaction. The job records the pack id and version it was queued for and refuses to run if
// that pack now has another version ([Note: embedding spaces]: a resumed job must not mix spaces).
import { StudioError } from '@shared/errors'
import type { JobSummary } from '@shared/contract/jobs'
import type { DB } from '../store/db'
import type { JobsRepo } from '../store/jobs-repo'
import type { Space } from '../store/embeddings-repo'
import type { ItemWorker } from './runner'

export const INDEX_KIND = 'index'
/** Images per engine request: batched preprocessing and encoding, small enough for prompt pause and cancel. */
const INDEX_CHUNK = 16

export interface IndexDeps {
  db: DB
  jobs: () => JobsRepo
  /** The space a pack embeds into now (its current version). */
  spaceOf(packId: string): Promise<Space>
  embed(packId: string, imageIds: number[], signal: AbortSignal): Promise<{ space: Space; vectors: (Float32Array | Error)[] }>
  keep(space: Space, imageId: number, vector: Float32Array): void
}

const spaceOfJob = (job: JobSummary): Space => ({ packId: String(job.params.packId), version: String(job.params.version) })

export function createIndexWorker(deps: IndexDeps): ItemWorker<Float32Array> {
  return {
    chunk: INDEX_CHUNK,
    async run(job, imageIds, signal) {
      const want = spaceOfJob(job)
      const mismatch = (version: string) => new StudioError('conflict', `pack ${want.packId} is now version ${version}; this job indexes version ${want.version} (start a new index job)`)
      const now = await deps.spaceOf(want.packId)
      if (now.version !== want.version) return imageIds.map(() => mismatch(now.version))
      const { space, vectors } = await deps.embed(want.packId, imageIds, signal)
      return space.version === want.version ? vectors : imageIds.map(() => mismatch(space.version))
    },
    store(job, imageId, vector) {
      deps.db.transaction(() => {
        deps.keep(spaceOfJob(job), imageId, vector)
        deps.jobs().finishItem(job.id, imageId, 'done', null, { dim: vector.length })
      })()
    }
  }
}
