// Main process / serve / CLI (plain Node). What every handler factory gets: the one database connection and
// its repositories, the data directory, and the event emitter shared by all clients of this host.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { StudioEvent } from '@shared/contract/events'
import type { SystemInfo } from '@shared/contract/system'
import { CaptionsRepo } from '../store/captions-repo'
import { openDatabase, type DB } from '../store/db'
import { checkpointThreadWanted, startCheckpointer, type Checkpointer } from '../store/checkpointer'
import { ImagesRepo } from '../store/images-repo'
import { Thumbnails } from '../library/thumbnails'
import { ThumbQueue } from '../library/thumb-queue'

export type Listener = (event: StudioEvent) => void

export interface ServiceContext {
  host: SystemInfo['host']
  dataDir: string
  db: DB
  /** [Note: checkpoints off the main thread] stopped before the connection closes. */
  checkpoints: Checkpointer
  images: ImagesRepo
  captions: CaptionsRepo
  thumbs: Thumbnails
  /** Background thumbnails of scans, visible first ([Note: visible first]). */
  thumbQueue: ThumbQueue
  emit(event: StudioEvent): void
  subscribe(listener: Listener): () => void
}

export function createContext(dataDir: string, host: SystemInfo['host']): ServiceContext {
  mkdirSync(dataDir, { recursive: true })
  const db = openDatabase(join(dataDir, 'studio.sqlite'))
  const listeners = new Set<Listener>()
  const images = new ImagesRepo(db)
  const ctx: ServiceContext = {
    host,
    dataDir,
    db,
    checkpoints: startCheckpointer(db, { enabled: checkpointThreadWanted() }),
    images,
    captions: new CaptionsRepo(db),
    thumbs: new Thumbnails(join(dataDir, 'thumbs')),
    // ctx.thumbs is read at each decode: tests replace its `ensure` to swap files mid-scan
    thumbQueue: new ThumbQueue(
      () => ctx.thumbs,
      (item, err) => db.open && images.setError(item.id, `cannot decode image: ${err.message}`)
    ),
    emit(event) {
      for (const l of listeners) {
        try {
          l(event)
        } catch (err) {
          process.stderr.write(`event listener failed: ${(err as Error).message}\n`)
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
  return ctx
}
