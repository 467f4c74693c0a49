import { defineConfig } from 'vitest/config'

// Generous timeout: in CI every package's tests run at once on two cores.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000 } })
