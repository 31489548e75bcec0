// CLI (plain Node). `library add|rescan|roots|counts|import`: manage the library without the studio window.
import { resolve } from 'node:path'
import type { OpOutput } from '@shared/contract'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { emit, log, parse, type CliCommand } from '../command'
import { IMPORT_OPTIONS, IMPORT_USAGE, importRequestFrom } from './library-import'

export const libraryCommand: CliCommand = {
  name: 'library',
  summary: 'Add or rescan folders, list roots and counts, index embeddings, import existing captions and keywords',
  usage: `usage: caption-studio library <add <folder…> | rescan | roots | counts | index [--pack ID] | import …> [--data-dir DIR]

  add <folder…>   add folders (recursive scan, waits until done) and print a summary per root
  rescan          rescan every root: new, moved, missing and changed files
  roots           list library roots
  counts          image and caption counts
  index           embed every image the pack (--pack ID, default the active one) has no embedding for, for
                  semantic search and near-duplicates (a job: progress on stderr; Ctrl+C keeps what is done)
${IMPORT_USAGE}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { 'data-dir': { type: 'string' }, pack: { type: 'string' }, ...IMPORT_OPTIONS })
    const [sub, ...paths] = positionals
    const services = createServices(values['data-dir'] ?? defaultDataDir(), 'cli')
    try {
      services.ctx.subscribe((e) => {
        if (e.type === 'library.scan' && e.phase === 'walking') log(`scanning root ${e.rootId}: ${e.seen} files, ${e.added} new, ${e.errors} errors`)
        if (e.type === 'library.scan' && e.phase === 'thumbnails') log(`root ${e.rootId}: ${e.seen} files listed; making ${e.pending ?? 0} thumbnails`)
        if (e.type === 'job.progress' && e.kind === 'index') log(`indexing: ${e.done}/${e.total}, ${e.failed} failed, ${e.ratePerSec.toFixed(1)}/s${e.etaSec !== null ? `, ETA ${Math.round(e.etaSec)} s` : ''}`)
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
      } else if (sub === 'index') {
        const r = (await services.call('search.startIndex', values.pack ? { packId: values.pack } : {})) as OpOutput<'search.startIndex'>
        if (r.job) {
          await services.call('jobs.waitIdle', {})
          const { job, failures } = (await services.call('jobs.get', { jobId: r.job.id })) as OpOutput<'jobs.get'>
          emit({ jobId: job.id, state: job.state, indexed: job.done, failed: job.failed, failures })
        } else emit({ jobId: null, state: 'done', indexed: 0, failed: 0, failures: [] })
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
