import { defineConfig } from 'tsup'

// One self-contained file per scenario (src/*.ts, not src/lib), which scripts/bench.mjs runs in turn.
export default defineConfig({
  entry: ['src/*.ts'],
  format: ['esm'],
  splitting: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
})
