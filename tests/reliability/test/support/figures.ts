import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One row of the reliability report: what a scenario measured. */
export interface Figure {
  /** Stable key, also the order of the table. */
  id: string
  scenario: string
  /** Messages whose fate was accounted for. */
  messages: number
  lost: number
  duplicates: number
  /** Longest time from a fault to the first downstream delivery after it, in ms. */
  resumeMs: number | null
  outcome: string
  /** Other figures worth a line (faults, rejections, bounds…). */
  notes?: string
}

/** Where the figures of the last run go; `pnpm report` turns them into `docs/reliability.md`. */
export const figuresFile: string = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '.vitest',
  'reliability.json',
)

/** Adds (or replaces) a row of the report. */
export function recordFigure(figure: Figure): void {
  mkdirSync(dirname(figuresFile), { recursive: true })
  let rows: Figure[] = []
  try {
    rows = (JSON.parse(readFileSync(figuresFile, 'utf8')) as { rows: Figure[] }).rows
  } catch {
    // first row of the run
  }
  rows = [...rows.filter((row) => row.id !== figure.id), figure].sort((a, b) => a.id.localeCompare(b.id))
  const environment = { node: process.versions.node, cpus: availableParallelism() }
  writeFileSync(
    figuresFile,
    `${JSON.stringify({ measuredAt: new Date().toISOString(), environment, rows }, null, 2)}\n`,
  )
  console.info(
    `[reliability] ${figure.scenario}: ${figure.messages} messages, ${figure.lost} lost, ${figure.duplicates} duplicates, resume ${figure.resumeMs ?? '-'} ms, ${figure.outcome}${figure.notes ? ` (${figure.notes})` : ''}`,
  )
}
