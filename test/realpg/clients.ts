/**
 * Real clients for the real-server tests, each from a chosen loopback address (127.0.0.x works on
 * Linux without setup): the npm `pg` driver on a socket bound with `localAddress` (libpq has no
 * source-address option), raw TCP for startup-packet cases, and `psql` (libpq) for libpq's own
 * behaviour (`sslmode=prefer`, certificate verification), which always connects from 127.0.0.1.
 */
import { execFile } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import pg from 'pg'
import { PG_BIN, sleep } from './server.js'

export interface PgTarget {
  port: number
}

export interface ConnectOptions {
  from: string
  user: string
  database: string
  password?: string
  /** false: no TLS; true: TLS without verifying; or Node TLS options (e.g. maxVersion). */
  ssl?: boolean | { maxVersion?: 'TLSv1.2' | 'TLSv1.3' }
}

/** A socket whose `connect(port, host)` (what `pg` calls) binds the client side first. */
function boundSocket(localAddress: string): net.Socket {
  const s = new net.Socket()
  const connect = s.connect.bind(s) as (o: net.TcpSocketConnectOpts) => net.Socket
  ;(s as unknown as { connect: (port: number, host: string) => net.Socket }).connect = (port, host) => connect({ port, host, localAddress })
  return s
}

/** Connects with `pg`; resolves the client, or the server's error (code = SQLSTATE, or a socket error). */
export async function connect(t: PgTarget, o: ConnectOptions): Promise<pg.Client> {
  const ssl = o.ssl === undefined || o.ssl === false ? false : { rejectUnauthorized: false, ...(o.ssl === true ? {} : o.ssl) }
  const c = new pg.Client({
    host: '127.0.0.1',
    port: t.port,
    user: o.user,
    database: o.database,
    password: o.password ?? '',
    ssl,
    stream: () => boundSocket(o.from),
    connectionTimeoutMillis: 10_000,
  })
  c.on('error', () => {}) // a session ended by the server (termination, shutdown) is expected
  await c.connect()
  return c
}

/** A connection attempt that must fail; returns the error's SQLSTATE (or message). */
export async function refused(t: PgTarget, o: ConnectOptions): Promise<string> {
  try {
    const c = await connect(t, o)
    await c.end()
  } catch (e) {
    const err = e as { code?: string; message: string }
    return err.code ?? err.message
  }
  throw new Error(`connection from ${o.from} as ${o.user}@${o.database} was expected to fail and succeeded`)
}

/** Opens TCP from `from`, writes `bytes`, then closes (or resets) and waits until the server has seen it. */
export async function raw(t: PgTarget, from: string, bytes: Buffer, end: 'close' | 'reset' = 'close'): Promise<void> {
  const s = net.connect({ port: t.port, host: '127.0.0.1', localAddress: from })
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve)
    s.once('error', reject)
  })
  s.on('error', () => {})
  s.resume() // the server's answer must be read for 'close' to come
  if (bytes.length) s.write(bytes)
  await sleep(30)
  if (end === 'reset') s.resetAndDestroy()
  else s.end()
  await closed
}

/**
 * Logs in over raw TCP (a trust line: no password exchange), waits for ReadyForQuery, then sends
 * the start of a Query message whose length promises more than follows, and closes.
 */
export async function halfMessage(t: PgTarget, from: string, user: string, database: string): Promise<void> {
  const s = net.connect({ port: t.port, host: '127.0.0.1', localAddress: from })
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
  s.on('error', () => {})
  let seen = Buffer.alloc(0)
  const ready = new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      seen = Buffer.concat([seen, d])
      // ReadyForQuery: 'Z', length 5, status byte
      if (seen.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) resolve()
      if (seen[0] === 0x45) reject(new Error(`login failed: ${seen.toString('latin1')}`))
    })
  })
  await new Promise<void>((resolve) => s.once('connect', () => resolve()))
  s.write(startupPacket({ user, database }))
  await ready
  const q = Buffer.from([0x51, 0, 0, 0, 100, 0x53, 0x45])
  s.write(q)
  await sleep(30)
  s.end()
  await closed
}

/** A protocol-3.0 StartupMessage. */
export function startupPacket(params: Record<string, string>, version = 0x0003_0000): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0${v}\0`)]), Buffer.from([0])])
  const head = Buffer.alloc(8)
  head.writeInt32BE(8 + body.length, 0)
  head.writeInt32BE(version, 4)
  return Buffer.concat([head, body])
}

/**
 * `psql` (libpq) from 127.0.0.1; resolves with its exit code and stderr. libpq's `sslmode=prefer`
 * (the default) retries without TLS after any failure of a TLS attempt.
 */
export function psql(
  t: PgTarget,
  o: { user: string; database: string; password?: string; sslmode?: string; sslrootcert?: string },
): Promise<{ code: number; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGPASSWORD: o.password ?? '',
    PGSSLMODE: o.sslmode ?? 'prefer',
    PGCONNECT_TIMEOUT: '10',
    LC_ALL: 'C.UTF-8',
  }
  if (o.sslrootcert) env.PGSSLROOTCERT = o.sslrootcert
  return new Promise((resolve) => {
    execFile(
      path.join(PG_BIN, 'psql'),
      ['-X', '-w', '-h', '127.0.0.1', '-p', String(t.port), '-U', o.user, '-d', o.database, '-c', 'SELECT 1'],
      { env, timeout: 20_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    )
  })
}
