import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Optional peer dependency, imported dynamically by tracing.ts: never bundled.
  external: ['@opentelemetry/api'],
})
