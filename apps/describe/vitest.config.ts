import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // No broker: the tool connects to nothing.
    testTimeout: 30_000,
  },
})
