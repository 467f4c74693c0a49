import type {} from 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The broker URL found by the global setup (`testcontainers.config.ts`). */
    amqpUrl: string
  }
}

export type { ClusterOptions, ThrowawayCluster } from './cluster.js'
export { clusterScript, startCluster } from './cluster.js'
export { useTempDir, writeTempFile } from './files.js'
export { lockCluster } from './lock.js'
export { uniqueName } from './names.js'
export { repoRoot } from './paths.js'
export { type Proxy, startProxy } from './proxy.js'
export { python, runPython } from './python.js'
export type { BoundQueue, ChannelLender } from './queue.js'
export { bindQueue, drain } from './queue.js'
export { closeConnections, listConnections, rabbitmqctl } from './rabbitmqctl.js'
export { waitFor } from './wait.js'
