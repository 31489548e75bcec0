// Main process / serve / CLI (plain Node). [Note: one contract] Composes the handler factories of every
// domain into the one handler table that all three hosts dispatch through.
import type { SystemInfo } from '@shared/contract/system'
import { createCaptionHandlers } from './captions-handlers'
import { createContext, type ServiceContext } from './context'
import { dispatch, type Handlers } from './dispatch'
import { createLibraryHandlers, ScanManager } from './library-handlers'
import { createJobHandlers } from './jobs-handlers'
import { JobRunner, type Captioner } from '../jobs/runner'
import { StudioError } from '@shared/errors'

export const VERSION = '0.1.0'

export interface Services {
  ctx: ServiceContext
  handlers: Handlers
  scans: ScanManager
  jobs: JobRunner
  call(name: string, input: unknown): Promise<unknown>
  close(): Promise<void>
}

export interface ServiceOptions {
  /** Replaces the engine-backed captioner (tests of the job machinery only). */
  captioner?: Captioner
  /** Resume interrupted jobs at start (hosts: yes; one-shot CLI commands: no). */
  resumeJobs?: boolean
}

const noEngine: Captioner = () => Promise.reject(new StudioError('model_error', 'no caption engine is available in this host'))

export function createServices(dataDir: string, host: SystemInfo['host'], opts: ServiceOptions = {}): Services {
  const ctx = createContext(dataDir, host)
  const scans = new ScanManager(ctx)
  // [Note: captioner seam] Batch jobs caption through this function; by default it calls the engine's
  // `engine.caption` handler, so jobs and the image view share one path.
  let captioner: Captioner = opts.captioner ?? noEngine
  const jobs = new JobRunner(ctx, (imageId, options, signal) => captioner(imageId, options, signal))
  const handlers: Handlers = {
    'system.info': () => ({ host, version: VERSION, dataDir, platform: `${process.platform}-${process.arch}` }),
    ...createLibraryHandlers(ctx, scans),
    ...createCaptionHandlers(ctx),
    ...createJobHandlers(jobs)
  }
  if (opts.resumeJobs !== false) jobs.start()
  return {
    ctx,
    handlers,
    scans,
    jobs,
    call: (name, input) => dispatch(handlers, name, input),
    async close() {
      await jobs.stop()
      await scans.waitAll().catch(() => undefined)
      ctx.db.close()
    }
  }
}
