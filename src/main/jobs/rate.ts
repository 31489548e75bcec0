// Main process (plain Node). Throughput and ETA for a running job: an exponential moving average of the time
// per item (recent items weigh more, so a changed load shows quickly), from the items finished this session.
export class RateMeter {
  private avgMs: number | null = null
  private last = Date.now()
  constructor(private readonly alpha = 0.2) {}

  tick(now = Date.now()): void {
    const dt = Math.max(1, now - this.last)
    this.last = now
    this.avgMs = this.avgMs === null ? dt : this.alpha * dt + (1 - this.alpha) * this.avgMs
  }

  /** `units` finished since the last call (bytes, captions…): the average is then per unit. */
  tickUnits(units: number, now = Date.now()): void {
    if (units <= 0) return
    const dt = Math.max(1, now - this.last) / units
    this.last = now
    this.avgMs = this.avgMs === null ? dt : this.alpha * dt + (1 - this.alpha) * this.avgMs
  }

  resetClock(now = Date.now()): void {
    this.last = now
  }

  perSecond(): number {
    return this.avgMs === null ? 0 : 1000 / this.avgMs
  }

  etaSeconds(remaining: number): number | null {
    return this.avgMs === null ? null : Math.round((remaining * this.avgMs) / 1000)
  }
}
