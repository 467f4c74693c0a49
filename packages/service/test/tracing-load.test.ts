import { afterAll, describe, expect, it, vi } from 'vitest'
import { loadTracing } from '../src/tracing.js'

// Counts the imports of the API: a fresh process that registered nothing must not pay for it.
const api = vi.hoisted(() => ({ imports: 0 }))
vi.mock('@opentelemetry/api', async (original) => {
  api.imports += 1
  return await original()
})

const GLOBAL = Symbol.for('opentelemetry.js.api.1')

describe('loadTracing', () => {
  afterAll(async () => {
    const { propagation } = await import('@opentelemetry/api')
    propagation.disable()
  })

  it('neither loads @opentelemetry/api nor traces while nothing is registered with it', async () => {
    expect(GLOBAL in globalThis).toBe(false)
    expect([await loadTracing(), api.imports]).toEqual([undefined, 0])
  })

  it('loads it and traces once something is registered (here a propagator)', async () => {
    const { propagation } = await import('@opentelemetry/api')
    const { W3CTraceContextPropagator } = await import('@opentelemetry/core')
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    expect(GLOBAL in globalThis).toBe(true)
    const tracing = await loadTracing()
    expect([typeof tracing?.publish, api.imports]).toEqual(['function', 1])
  })
})
