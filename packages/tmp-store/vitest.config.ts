import { defineConfig } from 'vitest/config'

// The broker is only for test/readiness.test.ts (a real Service); every other test starts its own
// redis-server. Generous timeouts: in CI every package's tests run at once on two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['@am/testkit/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
