// Any Node process (pure). A small dependency-free SVG line chart (for the RSS curve in docs/).
export interface Series {
  label: string
  points: { x: number; y: number }[]
  colour: string
}

export interface ChartOptions {
  title: string
  xLabel: string
  yLabel: string
  width?: number
  height?: number
  /** Force the y axis to start at 0 (default true). */
  yZero?: boolean
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** "Nice" tick step for a range: 1, 2 or 5 × 10^k giving about `count` ticks. */
export function tickStep(range: number, count = 5): number {
  if (!(range > 0)) return 1
  const raw = range / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / mag
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag
}

export function lineChartSvg(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 640
  const H = o.height ?? 320
  const m = { l: 64, r: 16, t: 36, b: 48 }
  const all = series.flatMap((s) => s.points)
  const xMax = Math.max(1e-9, ...all.map((p) => p.x))
  const yMaxRaw = Math.max(1e-9, ...all.map((p) => p.y))
  const yMinRaw = o.yZero === false ? Math.min(...all.map((p) => p.y)) : 0
  const yStep = tickStep(yMaxRaw - yMinRaw)
  const yMin = Math.floor(yMinRaw / yStep) * yStep
  const yMax = Math.ceil(yMaxRaw / yStep) * yStep
  const xStep = tickStep(xMax)
  const xTop = Math.ceil(xMax / xStep) * xStep
  const px = (x: number) => m.l + (x / xTop) * (W - m.l - m.r)
  const py = (y: number) => H - m.b - ((y - yMin) / (yMax - yMin || 1)) * (H - m.t - m.b)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`
  ]
  for (let y = yMin; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`)
    out.push(`<text x="${m.l - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${+y.toFixed(6)}</text>`)
  }
  for (let x = 0; x <= xTop + 1e-9; x += xStep) {
    out.push(`<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/>`)
    out.push(`<text x="${px(x).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${+x.toFixed(6)}</text>`)
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`, `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`)
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`)
  out.push(`<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${esc(o.yLabel)}</text>`)
  series.forEach((s, i) => {
    if (s.points.length) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`)
    out.push(`<rect x="${m.l + 12}" y="${m.t + 6 + i * 16}" width="12" height="3" fill="${s.colour}"/><text x="${m.l + 30}" y="${m.t + 10 + i * 16}">${esc(s.label)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
