import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-broker half of the conformance suite needs a broker (`inject('amqpUrl')`).
    globalSetup: ['@am/testkit/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
})
