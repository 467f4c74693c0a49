import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The second one gives these tests a vhost of their own: the console's live view binds `#` on
    // every exchange and keeps the last messages it saw, which the traffic of the other suites on
    // the shared test vhost would push out.
    globalSetup: ['@am/testkit/global-setup', '@am/testkit/own-vhost'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
})
