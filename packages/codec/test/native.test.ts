import { createRequire } from 'node:module'
import { isNativeAccelerationEnabled } from 'cbor-x'
import { describe, expect, it } from 'vitest'

describe('cbor-x, the reference the codec is measured against', () => {
  it('loads the native string extractor (cbor-extract), so the benchmark baseline is its fast path', () => {
    const fromCborX = createRequire(createRequire(import.meta.url).resolve('cbor-x'))
    const extractor = fromCborX('cbor-extract') as { extractStrings?: unknown }
    expect(typeof extractor.extractStrings).toBe('function')
    expect(isNativeAccelerationEnabled).toBe(true)
  })
})
