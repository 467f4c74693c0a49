import { defineConfig } from 'tsup'

export default defineConfig({
  // Every example is its own entry, so `node dist/demo.js` runs and the others import cleanly.
  entry: ['src/*.ts'],
  format: ['esm'],
  target: 'node20',
  sourcemap: true,
  clean: true,
})
