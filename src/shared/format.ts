// Shared by every process: human-readable sizes and durations (progress lines in the CLI, the studio's bars).
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n / 1000
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

export function formatEta(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return 'estimating…'
  if (sec < 60) return `${Math.max(1, Math.round(sec))} s`
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`
  return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`
}
