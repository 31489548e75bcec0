// CLI (plain Node). `library add|rescan|roots|counts|import`: manage the library without the studio window.
import { resolve } from 'node:path'
import type { OpOutput } from '@shared/contract'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { emit, log, parse, type CliCommand } from '../command'
import { IMPORT_OPTIONS, IMPORT_USAGE, importRequestFrom } from './library-import'

export const libraryCommand: CliCommand = {
  name: 'library',
  summary: 'Add or rescan folders, list roots and counts, import existing captions and keywords',
  usage: `usage: caption-studio library <add <folder…> | rescan | roots | counts | import …> [--data-dir DIR]

  add <folder…>   add folders (recursive scan, waits until done) and print a summary per root
  rescan          rescan every root: new, moved, missing and changed files
  roots           list library roots
  counts          image and caption counts
${IMPORT_USAGE}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { 'data-dir': { type: 'string' }, ...IMPORT_OPTIONS })
    const [sub, ...paths] = positionals
    const services = createServices(values['data-dir'] ?? defaultDataDir(), 'cli')
    try {
      services.ctx.subscribe((e) => {
        if (e.type === 'library.scan' && e.phase === 'walking') log(`scanning root ${e.rootId}: ${e.seen} files, ${e.added} new, ${e.errors} errors`)
        if (e.type === 'library.scan' && e.phase === 'thumbnails') log(`root ${e.rootId}: ${e.seen} files listed; making ${e.pending ?? 0} thumbnails`)
      })
      if (sub === 'add') {
        if (paths.length === 0) throw new Error('library add needs at least one folder')
        for (const p of paths) await services.call('library.addRoot', { path: resolve(p) })
        for (const r of (await services.call('library.waitForScans', {})) as OpOutput<'library.waitForScans'>) emit(r)
      } else if (sub === 'rescan') {
        const roots = (await services.call('library.listRoots', {})) as OpOutput<'library.listRoots'>
        for (const r of roots) await services.call('library.rescan', { rootId: r.id })
        for (const r of (await services.call('library.waitForScans', {})) as OpOutput<'library.waitForScans'>) emit(r)
      } else if (sub === 'roots') {
        for (const r of (await services.call('library.listRoots', {})) as OpOutput<'library.listRoots'>) emit(r)
      } else if (sub === 'import') {
        const { request, dryRun } = importRequestFrom(values, paths)
        emit(await services.call(dryRun ? 'interop.importPreview' : 'interop.importApply', request))
      } else if (sub === 'counts') {
        emit(await services.call('library.counts', {}))
      } else {
        log(this.usage)
        return 2
      }
      return 0
    } finally {
      await services.close()
    }
  }
}
