import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** A self-signed certificate for `localhost` and 127.0.0.1, made with openssl. */
export interface SelfSigned {
  dir: string
  certFile: string
  keyFile: string
  /** PEM, to pass as `tls.ca`. */
  cert: string
}

/**
 * Makes a self-signed certificate (its own CA) in a new folder readable by the `rabbitmq` user,
 * which the throwaway node runs as.
 */
export async function selfSignedCertificate(): Promise<SelfSigned> {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'am-tls-'))
  chmodSync(dir, 0o755)
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ])
  chmodSync(certFile, 0o644)
  chmodSync(keyFile, 0o644)
  return { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8') }
}

/** rabbitmq.conf lines for a TLS listener on `port` with this certificate, client certificates not asked. */
export function tlsListenerConfig(port: number, tls: SelfSigned): string {
  return [
    `listeners.ssl.default = 127.0.0.1:${port}`,
    `ssl_options.cacertfile = ${tls.certFile}`,
    `ssl_options.certfile = ${tls.certFile}`,
    `ssl_options.keyfile = ${tls.keyFile}`,
    'ssl_options.verify = verify_none',
    'ssl_options.fail_if_no_peer_cert = false',
  ].join('\n')
}
