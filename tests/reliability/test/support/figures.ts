import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

/**
 * One row of the reliability report: what a scenario measured in this run. Whether it passed is
 * not said here: `pnpm report` reads it from this run's vitest results, so a failed test cannot
 * show as a pass.
 */
export interface Figure {
  /** Stable key, also the order of the table. */
  id: string
  scenario: string
  /** Messages whose fate was accounted for. */
  messages: number
  /** Confirmed but never delivered; null where the scenario moves no messages. */
  lost: number | null
  duplicates: number | null
  /** What the design allows for duplicates, derived from what was in hand at the faults. */
  bound?: number | null
  /** Deliveries in hand at the faults, summed over them. */
  inHand?: number | null
  /** Longest time from a fault to the first downstream delivery after it, in ms. */
  resumeMs: number | null
  /** Other figures worth a line (faults, rejections, bounds…). */
  notes?: string
  /** The test (`describe > it`, or a prefix of it) whose result is the row's outcome. @default the current test */
  test?: string
  /** Its file. @default the current test's file */
  file?: string
}

/**
 * Where this run's figures go, one JSON row a line; the run's global setup deletes it first, so
 * it holds nothing from an earlier run.
 */
export const figuresFile: string = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '.vitest',
  'figures.ndjson',
)

/** Adds a row of this run's report. */
export function recordFigure(figure: Figure): void {
  const state = expect.getState()
  const row = {
    ...figure,
    test: figure.test ?? state.currentTestName,
    file: figure.file ?? state.testPath,
    measuredAt: new Date().toISOString(),
  }
  mkdirSync(dirname(figuresFile), { recursive: true })
  appendFileSync(figuresFile, `${JSON.stringify(row)}\n`)
  console.info(
    `[reliability] ${figure.scenario}: ${figure.messages} messages, ${figure.lost ?? '-'} lost, ${figure.duplicates ?? '-'} duplicates (bound ${figure.bound ?? '-'}, in hand ${figure.inHand ?? '-'}), resume ${figure.resumeMs ?? '-'} ms${figure.notes ? ` (${figure.notes})` : ''}`,
  )
}
