import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

/** A TCP relay on loopback to a broker, whose traffic a test can freeze or cut. */
export interface Proxy extends AsyncDisposable {
  port: number
  /** Stops forwarding in both directions, leaving the sockets open: a broker that hangs. */
  freeze(): void
  /** Drops every relayed connection at once. */
  cut(): void
}

/** Starts a relay from a free loopback port to `host:port`. */
export async function startProxy(host: string, port: number): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>()
  let frozen = false
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(port, host)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!frozen) to.write(chunk)
      })
    }
    forward(client, upstream)
    forward(upstream, client)
    const drop = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cut = (): void => {
    for (const [a, b] of pairs) {
      a.destroy()
      b.destroy()
    }
    pairs.clear()
  }
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true
    },
    cut,
    [Symbol.asyncDispose]: async () => {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
