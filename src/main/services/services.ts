// Main process / serve / CLI (plain Node). [Note: one contract] Composes the handler factories of every
// domain into the one handler table that all three hosts dispatch through.
import type { SystemInfo } from '@shared/contract/system'
import { createCaptionHandlers } from './captions-handlers'
import { createContext, type ServiceContext } from './context'
import { dispatch, type Handlers } from './dispatch'
import { createLibraryHandlers, ScanManager } from './library-handlers'

export const VERSION = '0.1.0'

export interface Services {
  ctx: ServiceContext
  handlers: Handlers
  scans: ScanManager
  call(name: string, input: unknown): Promise<unknown>
  close(): Promise<void>
}

export function createServices(dataDir: string, host: SystemInfo['host']): Services {
  const ctx = createContext(dataDir, host)
  const scans = new ScanManager(ctx)
  const handlers: Handlers = {
    'system.info': () => ({ host, version: VERSION, dataDir, platform: `${process.platform}-${process.arch}` }),
    ...createLibraryHandlers(ctx, scans),
    ...createCaptionHandlers(ctx)
  }
  return {
    ctx,
    handlers,
    scans,
    call: (name, input) => dispatch(handlers, name, input),
    async close() {
      await scans.waitAll().catch(() => undefined)
      ctx.db.close()
    }
  }
}
