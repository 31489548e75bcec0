// CLI (plain Node). `models get <clip-id> --corpus <id>` and `models catalog`: assemble a photo pack on this
// machine from a catalog ([Note: pinned catalog]) through the same services as the studio (a pack-build job
// in the data folder's database, so Ctrl+C pauses it and running the command again resumes it).
// Progress with ETA goes to stderr; the final job summary (or the catalog) is one JSON line on stdout; the
// exit status is non-zero on any refusal (a pin mismatch, a 404, a corpus that is not COCO JSON…).
import type { OpOutput } from '@shared/contract'
import type { JobSummary } from '@shared/contract/jobs'
import { StudioError } from '@shared/errors'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { formatBytes, formatEta } from '@shared/format'
import { emit, log } from '../command'

export interface ModelsGetArgs {
  sub: 'get' | 'catalog'
  clipId?: string
  corpus?: string
  maxCaptions?: number
  catalogs: string[]
  dataDir?: string
  activate: boolean
}

export async function runModelsGet(a: ModelsGetArgs): Promise<number> {
  const services = createServices(a.dataDir ?? defaultDataDir(), 'cli', { catalogFiles: a.catalogs, resumeJobs: false })
  try {
    if (a.sub === 'catalog') {
      const c = (await services.call('models.catalog', {})) as OpOutput<'models.catalog'>
      for (const p of c.problems) log(`catalog ${p.file}: ${p.message}`)
      emit(c)
      return c.problems.length ? 1 : 0
    }
    if (!a.clipId || !a.corpus) throw new StudioError('invalid_input', 'models get <clip-id> --corpus <corpus-id>')
    const cat = (await services.call('models.catalog', {})) as OpOutput<'models.catalog'>
    for (const p of cat.problems) log(`catalog ${p.file}: ${p.message}`)
    for (const id of [a.clipId, a.corpus]) {
      const e = cat.entries.find((x) => x.id === id)
      if (!e) throw new StudioError('not_found', `no entry "${id}" in the catalogs (${cat.catalogs.join(', ')})`)
      log(`${e.id}: ${e.title} — ${e.licence}${e.caveat ? ` (${e.caveat})` : ''}; download ${e.downloadBytes === null ? 'size not stated' : formatBytes(e.downloadBytes)} from ${e.source}`)
    }
    // an interrupted build of the same pack resumes instead of starting a second one
    const jobs = (await services.call('jobs.list', {})) as JobSummary[]
    const prior = jobs.find((j) => j.kind === 'pack-build' && j.params.clipId === a.clipId && j.params.corpusId === a.corpus && (j.params.maxCaptions ?? null) === (a.maxCaptions ?? null) && ['paused', 'cancelled', 'running', 'queued'].includes(j.state))
    let lastLine = 0
    services.ctx.subscribe((e) => {
      if (e.type !== 'job.progress' || e.kind !== 'pack-build') return
      const now = Date.now()
      if (now - lastLine < 1000 && e.done < e.total) return
      lastLine = now
      const st = e.stage ? `[${e.stage.index + 1}/${e.stage.count} ${e.stage.name}] ` : ''
      const amount = e.stage?.unit === 'bytes' ? `${formatBytes(e.done)} of ${e.total ? formatBytes(e.total) : '?'}` : `${e.done.toLocaleString('en')} of ${e.total.toLocaleString('en')}`
      log(`${st}${amount}${e.etaSec !== null ? `, ETA ${formatEta(e.etaSec)}` : ''}${e.current ? ` — ${e.current}` : ''}`)
    })
    const job = prior
      ? ((await services.call('jobs.resume', { jobId: prior.id })) as JobSummary)
      : ((await services.call('models.get', { clipId: a.clipId, corpusId: a.corpus, activate: a.activate, ...(a.maxCaptions ? { maxCaptions: a.maxCaptions } : {}) })) as JobSummary)
    if (prior) log(`resuming pack build #${prior.id}`)
    const onInt = () => {
      log('pausing the build (run the same command again to resume)…')
      void services.call('jobs.pause', { jobId: job.id })
    }
    process.once('SIGINT', onInt)
    await services.call('jobs.waitIdle', {})
    process.off('SIGINT', onInt)
    const { job: end } = (await services.call('jobs.get', { jobId: job.id })) as { job: JobSummary }
    emit(end)
    if (end.state === 'done') {
      log(`installed pack ${String(end.params.packId)}${a.activate ? ' (active)' : ''}`)
      return 0
    }
    log(`pack build #${end.id} ${end.state}${end.error ? `: ${end.error}` : ''}`)
    return end.state === 'paused' ? 130 : 1
  } finally {
    await services.close()
  }
}
