import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface TestCert {
  /** PEM files, for `caFile` and NODE_EXTRA_CA_CERTS. */
  certFile: string
  keyFile: string
  cert: Buffer
  key: Buffer
}

/** A throwaway self-signed certificate for 127.0.0.1 / localhost, made with the openssl CLI. */
export function makeTestCert(): TestCert {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'connrca-tls-'))
  const certFile = path.join(dir, 'cert.pem')
  const keyFile = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    { stdio: 'pipe' },
  )
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) }
}
