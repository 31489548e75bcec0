// CLI (plain Node). Human-readable sizes and durations for progress lines on stderr.
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

export function formatEtaSeconds(sec: number): string {
  if (!Number.isFinite(sec)) return '?'
  if (sec < 60) return `${Math.max(1, Math.round(sec))} s`
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`
  return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`
}
