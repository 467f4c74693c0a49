import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  banner: { js: '#!/usr/bin/env node' },
  target: 'node20',
  sourcemap: true,
  clean: true,
  // cli-kit is a private workspace package that exports TypeScript source: bundle it.
  noExternal: ['@am/cli-kit'],
})
