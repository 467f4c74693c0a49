import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The second one moves these tests to a vhost of their own (@am/testkit/own-vhost).
    globalSetup: ['@am/testkit/global-setup', '@am/testkit/own-vhost'],
    // The examples have fixed service names: one file at a time, each test deleting its queues.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
})
