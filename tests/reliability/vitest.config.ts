import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['@am/testkit/global-setup', './test/support/run-setup.ts'],
    // The suites load the machine (streams of thousands of messages, throwaway RabbitMQ nodes):
    // one file at a time, with room for node boots.
    fileParallelism: false,
    testTimeout: 180_000,
    // A throwaway cluster may first wait for another suite's (one at a time on the machine).
    hookTimeout: 600_000,
  },
})
