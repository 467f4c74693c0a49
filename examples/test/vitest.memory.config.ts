import { defineConfig } from 'vitest/config'

// The examples' unit tests on the in-memory bus, without a broker:
// `pnpm vitest run -c test/vitest.memory.config.ts` (`pnpm test` runs them with the rest).
export default defineConfig({
  test: {
    include: ['test/**/*-memory.test.ts'],
    testTimeout: 10_000,
  },
})
