// `pnpm bench report`: charts the history of full runs (bench/results/<date>-<commit>.json) as SVG
// files in bench/charts/ and rewrites the part of bench/README.md between the report markers:
// - the ratios ours/raw of every scenario over commits (one line per figure; 1.0 = parity), split
//   in throughput ratios (higher is better) and cost ratios (CPU per message, times: lower is better);
// - the relay's throughput per prefetch of the last run, per implementation (median and min–max),
//   once per broker (default, ram).
// No charting library: the SVG is written by hand.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { History } from '../lib/harness.js'

const benchDir = fileURLToPath(new URL('../../', import.meta.url))
const resultsDir = `${benchDir}results/`
const chartsDir = `${benchDir}charts/`
const readme = `${benchDir}README.md`
const START = '<!-- report:start (pnpm bench report writes this part) -->'
const END = '<!-- report:end -->'

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
]

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= step * magnitude) return step * magnitude
  return 10 * magnitude
}

interface Series {
  name: string
  /** One value per x position (NaN: no figure at that position). */
  values: number[]
}

/** A line chart with points, a y axis from 0 (or `minY`) and a dashed reference line. */
export function lineChart(title: string, xLabels: string[], series: Series[], reference?: number): string {
  const width = 760
  const legendRows = Math.ceil(series.length / 2)
  const plot = { left: 56, top: 40, width: 660, height: 260 }
  const height = plot.top + plot.height + 60 + legendRows * 18
  const all = series.flatMap((s) => s.values).filter(Number.isFinite)
  const maxY = niceMax(Math.max(reference ?? 0, ...all) * 1.05)
  const x = (i: number): number =>
    plot.left + (xLabels.length === 1 ? plot.width / 2 : (i * plot.width) / (xLabels.length - 1))
  const y = (v: number): number => plot.top + plot.height - (v / maxY) * plot.height
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ]
  for (let i = 0; i <= 5; i++) {
    const v = (maxY * i) / 5
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${plot.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`,
    )
  }
  if (reference !== undefined) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y(reference)}" y2="${y(reference)}" stroke="#000" stroke-dasharray="4 3"/>`,
    )
  }
  xLabels.forEach((label, i) => {
    parts.push(`<text x="${x(i)}" y="${plot.top + plot.height + 16}" text-anchor="middle">${escapeXml(label)}</text>`)
  })
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length] as string
    const points = s.values.map((v, i) => [x(i), v] as const).filter(([, v]) => Number.isFinite(v))
    if (points.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.map(([px, v]) => `${px},${y(v)}`).join(' ')}"/>`,
      )
    }
    for (const [px, v] of points) {
      parts.push(
        `<circle cx="${px}" cy="${y(v)}" r="3" fill="${color}"><title>${escapeXml(`${s.name}: ${v.toFixed(2)}`)}</title></circle>`,
      )
    }
    const lx = plot.left + (index % 2) * 340
    const ly = plot.top + plot.height + 38 + Math.floor(index / 2) * 18
    const last = [...s.values].reverse().find(Number.isFinite)
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${color}"/>`,
      `<text x="${lx + 14}" y="${ly}">${escapeXml(`${s.name}${last === undefined ? '' : ` (last ${last.toFixed(2)}×)`}`)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

interface Bar {
  group: string
  name: string
  median: number
  min: number
  max: number
}

/** Grouped bars (one group per x label, one bar per name) with min–max whiskers and the median written above. */
export function barChart(title: string, unit: string, bars: Bar[]): string {
  const groups = [...new Set(bars.map((b) => b.group))]
  const names = [...new Set(bars.map((b) => b.name))]
  const width = 760
  const plot = { left: 64, top: 40, width: 660, height: 260 }
  const height = plot.top + plot.height + 50 + names.length * 18
  const maxY = niceMax(Math.max(...bars.map((b) => b.max)) * 1.1)
  const y = (v: number): number => plot.top + plot.height - (v / maxY) * plot.height
  const groupWidth = plot.width / groups.length
  const barWidth = (groupWidth * 0.8) / names.length
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<text x="14" y="${plot.top + plot.height / 2}" transform="rotate(-90 14 ${plot.top + plot.height / 2})" text-anchor="middle">${escapeXml(unit)}</text>`,
  ]
  for (let i = 0; i <= 5; i++) {
    const v = (maxY * i) / 5
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${plot.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`,
    )
  }
  groups.forEach((group, g) => {
    const gx = plot.left + g * groupWidth + groupWidth * 0.1
    parts.push(
      `<text x="${plot.left + g * groupWidth + groupWidth / 2}" y="${plot.top + plot.height + 16}" text-anchor="middle">${escapeXml(group)}</text>`,
    )
    names.forEach((name, n) => {
      const bar = bars.find((b) => b.group === group && b.name === name)
      if (!bar) return
      const color = COLORS[n % COLORS.length] as string
      const bx = gx + n * barWidth
      const cx = bx + barWidth / 2
      parts.push(
        `<rect x="${bx + 1}" y="${y(bar.median)}" width="${barWidth - 2}" height="${plot.top + plot.height - y(bar.median)}" fill="${color}" opacity="0.85"><title>${escapeXml(`${name}: ${Math.round(bar.median)} (${Math.round(bar.min)}–${Math.round(bar.max)})`)}</title></rect>`,
        `<line x1="${cx}" x2="${cx}" y1="${y(bar.min)}" y2="${y(bar.max)}" stroke="#000"/>`,
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${y(bar.min)}" y2="${y(bar.min)}" stroke="#000"/>`,
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${y(bar.max)}" y2="${y(bar.max)}" stroke="#000"/>`,
        `<text x="${cx}" y="${y(bar.max) - 4}" text-anchor="middle" font-size="10">${Math.round(bar.median).toLocaleString('en-US')}</text>`,
      )
    })
  })
  names.forEach((name, n) => {
    const ly = plot.top + plot.height + 38 + n * 18
    parts.push(
      `<rect x="${plot.left}" y="${ly - 9}" width="10" height="10" fill="${COLORS[n % COLORS.length]}"/>`,
      `<text x="${plot.left + 14}" y="${ly}">${escapeXml(name)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

/** The history files, oldest first. */
export function readHistory(dir = resultsDir): History[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((file) => /^\d{4}-\d{2}-\d{2}-.+\.json$/.test(file))
    .map((file) => JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as History)
    .sort((a, b) => firstSave(a).localeCompare(firstSave(b)))
}

function firstSave(history: History): string {
  return (
    Object.values(history.scenarios)
      .map((s) => s.savedAt)
      .sort()[0] ?? history.date
  )
}

/** `relay msgs/s p100` of `relay@ram` → `ram: relay msgs/s p100`. */
function headlinesOf(history: History): Map<string, number> {
  const figures = new Map<string, number>()
  for (const [key, entry] of Object.entries(history.scenarios)) {
    const broker = key.includes('@') ? `${key.split('@')[1]}: ` : ''
    for (const [name, value] of Object.entries(entry.headline ?? {})) figures.set(`${broker}${name}`, value)
  }
  return figures
}

interface RelaySummaryRow {
  prefetch: number
  implementation: string
  msgsPerSecond: { median: number; min: number; max: number }
}

function main(): void {
  const history = readHistory()
  if (history.length === 0) {
    console.error(`no history in ${resultsDir}: run full scenarios first (pnpm bench)`)
    process.exit(1)
  }
  mkdirSync(chartsDir, { recursive: true })
  const xLabels = history.map((h) => `${h.date.slice(5)} ${h.commit.slice(0, 7)}`)
  const perRun = history.map(headlinesOf)
  const names = [...new Set(perRun.flatMap((m) => [...m.keys()]))].sort()
  const seriesOf = (filter: (name: string) => boolean): Series[] =>
    names.filter(filter).map((name) => ({ name, values: perRun.map((m) => m.get(name) ?? Number.NaN) }))
  const isThroughput = (name: string): boolean => name.includes('msgs/s')
  const files: Array<{ file: string; alt: string }> = []
  const write = (file: string, svg: string, alt: string): void => {
    writeFileSync(`${chartsDir}${file}`, svg)
    files.push({ file, alt })
  }
  const throughput = seriesOf(isThroughput)
  if (throughput.length > 0) {
    write(
      'ratios-throughput.svg',
      lineChart('Throughput, ours / raw amqplib, over commits (higher is better; 1 = parity)', xLabels, throughput, 1),
      'throughput ratios ours/raw over commits',
    )
  }
  const cost = seriesOf((name) => !isThroughput(name))
  if (cost.length > 0) {
    write(
      'ratios-cost.svg',
      lineChart('CPU per message and times, ours / raw, over commits (lower is better; 1 = parity)', xLabels, cost, 1),
      'cost ratios ours/raw over commits',
    )
  }
  // The last run of the relay, per broker.
  for (const key of ['relay', 'relay@ram']) {
    const last = [...history].reverse().find((h) => h.scenarios[key])
    const entry = last?.scenarios[key]
    const summary = (entry?.results as { summary?: RelaySummaryRow[] } | undefined)?.summary
    if (!last || !entry || !summary) continue
    const broker = key === 'relay' ? 'default broker (disk)' : 'RAM broker'
    write(
      `relay-prefetch${key === 'relay' ? '' : '-ram'}.svg`,
      barChart(
        `Relay msgs/s per prefetch, ${broker}, ${last.date} ${last.commit}${entry.dirty ? ' (uncommitted changes)' : ''}`,
        'msgs/s (median, min–max)',
        summary.map((row) => ({ group: `prefetch ${row.prefetch}`, name: row.implementation, ...row.msgsPerSecond })),
      ),
      `relay throughput per prefetch, ${broker}`,
    )
  }

  // The README section: the charts and the last figure of every headline.
  // Each figure from the last file that has it: a run of one scenario does not hide the others.
  const latest = new Map<string, { value: number; at: string }>()
  perRun.forEach((figures, index) => {
    const h = history[index] as History
    for (const [name, value] of figures) latest.set(name, { value, at: `${h.date} ${h.commit.slice(0, 7)}` })
  })
  const lastHistory = history.at(-1) as History
  const lines = [
    START,
    '',
    `History: ${history.length} full run file(s) in \`bench/results/\`, last ${lastHistory.date} at ${lastHistory.commit}.`,
    '',
    ...files.map(({ file, alt }) => `![${alt}](charts/${file})`),
    '',
    'Ratios ours/raw, every figure of every setting, each from the last run that measured it:',
    '',
    '| figure | ours / raw | run |',
    '|---|---:|---|',
    ...[...latest.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, { value, at }]) => `| ${name} | ${value.toFixed(2)}× | ${at} |`),
    '',
    END,
  ]
  const text = readFileSync(readme, 'utf8')
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  const section = lines.join('\n')
  const updated =
    start >= 0 && end > start
      ? `${text.slice(0, start)}${section}${text.slice(end + END.length)}`
      : `${text.trimEnd()}\n\n## Charts\n\n${section}\n`
  writeFileSync(readme, updated)
  console.log(`${files.length} chart(s) written to ${chartsDir}; ${readme} updated (${latest.size} figures)`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()
