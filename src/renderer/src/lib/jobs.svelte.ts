// Renderer. Batch jobs as the UI sees them: summaries from `jobs.list`, kept live by `job.progress` events
// (count, rate, ETA). Pause, resume, cancel and retry go straight to the services.
import { SvelteMap } from 'svelte/reactivity'
import type { JobSummary } from '@shared/contract/jobs'
import type { StudioEvent } from '@shared/contract'
import type { StudioClient } from './client'

export interface LiveJob extends JobSummary {
  ratePerSec: number
  etaSec: number | null
  current?: string
}

export { formatEta } from '@shared/format'

export class Jobs {
  readonly all = new SvelteMap<number, LiveJob>()
  active = $derived([...this.all.values()].filter((j) => j.state === 'running' || j.state === 'queued' || j.state === 'paused').sort((a, b) => a.id - b.id))
  recent = $derived([...this.all.values()].sort((a, b) => b.id - a.id).slice(0, 8))

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    const list = await this.client.call('jobs.list', {})
    for (const j of list) this.all.set(j.id, { ...j, ratePerSec: this.all.get(j.id)?.ratePerSec ?? 0, etaSec: this.all.get(j.id)?.etaSec ?? null })
  }

  onEvent(e: StudioEvent): void {
    if (e.type !== 'job.progress') return
    const prev = this.all.get(e.jobId)
    if (!prev) {
      void this.refresh()
      return
    }
    this.all.set(e.jobId, {
      ...prev,
      state: e.state,
      done: e.done,
      failed: e.failed,
      total: e.total,
      pending: Math.max(0, e.total - e.done - e.failed),
      ratePerSec: e.ratePerSec,
      etaSec: e.etaSec,
      ...(e.current ? { current: e.current } : {}),
      ...(e.stage ? { stage: e.stage } : {})
    })
  }

  async act(op: 'jobs.pause' | 'jobs.resume' | 'jobs.cancel' | 'jobs.retryFailed', jobId: number): Promise<void> {
    const s = await this.client.call(op, { jobId })
    const prev = this.all.get(jobId)
    this.all.set(jobId, { ...s, ratePerSec: prev?.ratePerSec ?? 0, etaSec: prev?.etaSec ?? null })
  }
}
