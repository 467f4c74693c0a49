import { defineConfig } from 'tsup'

// One self-contained file per scenario (src/*.ts, not src/lib), which scripts/bench.mjs runs in
// turn, and the tools it calls (src/tools/*.ts → dist/tools/: the RAM broker, the report).
export default defineConfig({
  entry: ['src/*.ts', 'src/tools/*.ts'],
  format: ['esm'],
  splitting: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
})
