export type { TmpStoreErrorCode } from './errors.js'
export { TmpStoreError } from './errors.js'
export type { Logger, PeekOrCreateOptions, TmpStoreOptions } from './tmp-store.js'
export { createTmpStore, TmpStore } from './tmp-store.js'
