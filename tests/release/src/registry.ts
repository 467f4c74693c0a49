import { createReadStream } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Packed } from './pack.js'

/** The registry npm is pointed at: our packages from their tarballs, the rest from npmjs. */
export interface LoopbackRegistry extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/<run>/`: the path is new at every run, so npm's cache never mixes two runs' tarballs. */
  url: string
  /** Names npm asked for that are ours, in order (each once). */
  served: () => string[]
  close(): Promise<void>
}

const UPSTREAM = 'https://registry.npmjs.org'
/** The ports this check may use (loopback only). */
export const PORTS = [4870, 4871, 4872, 4873, 4874, 4875, 4876, 4877, 4878, 4879]

/**
 * Starts a registry on loopback that serves the packuments and tarballs of `packed`, answers 404
 * for any other `@am/*` name (so npm can never take one of ours from the public registry), and
 * redirects every other request to registry.npmjs.org (third-party packages: amqplib, vitest…).
 */
export async function startRegistry(packed: Packed[], runId: string): Promise<LoopbackRegistry> {
  const byName = new Map(packed.map((p) => [p.name, p]))
  const served = new Set<string>()
  let base = ''
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')
    const prefix = `/${runId}/`
    if (!path.startsWith(prefix)) {
      res.writeHead(404).end()
      return
    }
    const rest = path.slice(prefix.length)
    const tarball = /^-\/(.+)\.tgz$/.exec(rest)
    if (tarball) {
      const p = packed.find((x) => tarballName(x) === tarball[1])
      if (!p) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': p.bytes })
      createReadStream(p.tarball).pipe(res)
      return
    }
    const p = byName.get(rest)
    if (p) {
      served.add(p.name)
      const version = {
        ...p.manifest,
        dist: { tarball: `${base}-/${tarballName(p)}.tgz`, integrity: p.integrity, shasum: p.shasum },
      }
      const body = JSON.stringify({
        name: p.name,
        'dist-tags': { latest: p.version },
        versions: { [p.version]: version },
      })
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body)
      return
    }
    if (rest.startsWith('@am/') || rest === 'create-am-service') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not packed from this commit"}')
      return
    }
    res.writeHead(302, { location: `${UPSTREAM}/${rest.replace('/', '%2f')}` }).end()
  })
  const port = await listenOnFirstFree(server)
  base = `http://127.0.0.1:${port}/${runId}/`
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return { url: base, served: () => [...served], close, [Symbol.asyncDispose]: close }
}

function tarballName(p: Packed): string {
  return `${p.name.replace('@', '').replace('/', '-')}-${p.version}`
}

async function listenOnFirstFree(server: Server): Promise<number> {
  for (const port of PORTS) {
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (ok) return (server.address() as AddressInfo).port
  }
  throw new Error(`no free port among ${PORTS[0]}–${PORTS.at(-1)} on 127.0.0.1 for the loopback registry`)
}
