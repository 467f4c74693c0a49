export interface RedisProcess {
  kind: 'redis' | 'sentinel'
  port: number
  address: string
  stop(): Promise<void>
  kill(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
export function freePort(): Promise<number>
export function startRedis(options?: { port?: number; replicaOf?: number; password?: string }): Promise<RedisProcess>
export function startSentinels(options: {
  masterPort: number
  name?: string
  count?: number
  replicas?: number
  downAfterMs?: number
}): Promise<RedisProcess[]>
