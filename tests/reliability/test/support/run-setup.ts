import { rmSync } from 'node:fs'
import { figuresFile } from './figures.js'

/** Vitest globalSetup: a run starts with no figures, so the report holds only this run's. */
export default function setup(): void {
  rmSync(figuresFile, { force: true })
}
