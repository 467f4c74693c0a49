import { defineConfig } from 'vitest/config'

// The packing and the loopback registry are made once (global setup) and shared by every file.
// One file at a time: each runs npm installs, which would starve each other on two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['@am/testkit/global-setup', './test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
})
