import type {} from 'vitest'
import type { Packed } from '../src/pack.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Made by the global setup: the packed packages and the registry serving them. */
    release: {
      /** A temporary directory outside the workspace; every install goes under it. */
      dir: string
      /** The loopback registry's URL. */
      registry: string
      packed: Packed[]
      /** How long packing every public package took. */
      packMs: number
    }
  }
}
