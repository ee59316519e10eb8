/**
 * One scenario against a real server: every failure class the classifier knows that PostgreSQL
 * 15 can produce, with known counts, from several client addresses. The test writes down what it
 * did (the truth) as it goes; connrca's report on the server's log is compared with it.
 *
 * The server decides some counts itself: libpq's `sslmode=prefer` retries without TLS after a
 * failure during authentication, so one psql call can be two server-side attempts. The truth for
 * those is taken from what psql reports (one "connection to server … failed" per attempt), never
 * from the server's log.
 */
import type pg from 'pg'
import { connect, halfMessage, type PgTarget, psql, raw, refused, startupPacket } from './clients.js'
import { type PgServer, sleep } from './server.js'

export const PASSWORD = 'correct horse'

/** pg_hba.conf of the scenario (first match wins). */
export const HBA = [
  'host all all 127.0.0.5/32 reject', // .5: a reject line
  'hostssl all all 127.0.0.2/32 scram-sha-256', // .2: TLS only; logs in over TLS first
  'hostssl all all 127.0.0.7/32 scram-sha-256', // .7: TLS only; never gets in
  'host all all 127.0.0.3/32 scram-sha-256', // .3: passwords
  'host all all 127.0.0.4/32 trust', // .4: trust: user errors, limits, network
  'host all alice,postgres 127.0.0.1/32 scram-sha-256', // .1 (psql): alice; carol has no line
  // .6 and .8: no line at all
]

export const SETUP_SQL = [
  `CREATE ROLE alice LOGIN PASSWORD '${PASSWORD}'`,
  `CREATE ROLE carol LOGIN PASSWORD '${PASSWORD}'`,
  `CREATE ROLE locked NOLOGIN PASSWORD '${PASSWORD}'`,
  `CREATE ROLE limited LOGIN CONNECTION LIMIT 1 PASSWORD '${PASSWORD}'`,
  `ALTER ROLE postgres PASSWORD '${PASSWORD}'`,
  'CREATE DATABASE shop',
  'CREATE DATABASE busy CONNECTION LIMIT 1',
  'CREATE DATABASE private',
  'REVOKE CONNECT ON DATABASE private FROM PUBLIC',
]

export interface Failure {
  category: string
  reason: string
  ip?: string
  user?: string
  database?: string
  /**
   * Fields the server writes only in the prefix (%u, %d) or the csv/json columns: neither the
   * message nor an earlier line of the backend names them, so a prefix without %u/%d cannot carry them.
   */
  prefixOnly?: ('user' | 'database')[]
}

/** What the test did, in the shape of `connrca analyze --json`. */
export class Truth {
  outcomes = { received: 0, authorized: 0, failed: 0, closed: 0 }
  readonly failures: Failure[] = []

  fail(f: Failure, opts: { authorized?: boolean } = {}): void {
    this.outcomes.received++
    if (opts.authorized) this.outcomes.authorized++
    this.outcomes.failed++
    this.failures.push(f)
  }

  /** A session that got in (and, unless told otherwise, ends with a disconnection line). */
  session(opts: { closed?: boolean } = {}): void {
    this.outcomes.received++
    this.outcomes.authorized++
    if (opts.closed !== false) this.outcomes.closed++
  }

  /** `userDb`: the log format carries the user and database of every line (csvlog, jsonlog, %u/%d). */
  totals(userDb = true): Record<string, { failures: number; reasons: Entry[]; topClients: Entry[]; topUsers: Entry[]; topDatabases: Entry[] }> {
    const by = new Map<string, Failure[]>()
    for (const f of this.failures) {
      const g = { ...f }
      if (!userDb && f.prefixOnly?.includes('user')) g.user = undefined
      if (!userDb && f.prefixOnly?.includes('database')) g.database = undefined
      by.set(f.category, [...(by.get(f.category) ?? []), g])
    }
    const out: ReturnType<Truth['totals']> = {}
    for (const [category, fs] of [...by].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))) {
      out[category] = {
        failures: fs.length,
        reasons: top(fs.map((f) => f.reason), 100),
        topClients: top(fs.map((f) => f.ip)),
        topUsers: top(fs.map((f) => f.user)),
        topDatabases: top(fs.map((f) => f.database)),
      }
    }
    return out
  }
}

export interface Entry {
  value: string
  count: number
}

/** Same order and cut as `connrca analyze` (count desc, then value). */
function top(values: (string | undefined)[], n = 5): Entry[] {
  const m = new Map<string, number>()
  for (const v of values) if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1)
  return [...m]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([value, count]) => ({ value, count }))
}

function expectCode(got: string, want: string, what: string): void {
  if (got !== want) throw new Error(`${what}: the server answered ${got}, expected ${want}`)
}

/** server-side attempts of one psql call: libpq prints one "failed:" per attempt */
function attempts(stderr: string): number {
  return stderr.split('\n').filter((l) => /connection to server at .* failed:/.test(l)).length
}

/**
 * Runs the scenario on `server` and returns the truth. Everything it does lands in the server's
 * current log files; the caller rotates before and judges those files after.
 * `opts.shutdown`: end with a smart shutdown while clients knock (the server is stopped after).
 */
export async function runScenario(server: PgServer, opts: { shutdown: boolean }): Promise<Truth> {
  const t: PgTarget = server
  const truth = new Truth()
  const pw = PASSWORD
  const code = async (what: string, want: string, o: Parameters<typeof refused>[1]) => {
    debug(what)
    expectCode(await refused(t, o), want, what)
  }

  // --- auth_fail: wrong passwords, unknown roles, NOLOGIN (.3, scram). A wrong SCRAM password
  // gets no DETAIL saying why (only md5/password methods log "Password does not match"), so the
  // reason is the plain password_auth_failed.
  for (let i = 0; i < 3; i++) {
    await code('wrong password', '28P01', { from: '127.0.0.3', user: 'alice', database: 'shop', password: 'wrong' })
    truth.fail({ category: 'auth_fail', reason: 'password_auth_failed', ip: '127.0.0.3', user: 'alice', database: 'shop', prefixOnly: ['database'] })
  }
  for (let i = 0; i < 2; i++) {
    await code('unknown role', '28P01', { from: '127.0.0.3', user: 'mallory', database: 'shop', password: 'guess' })
    truth.fail({ category: 'auth_fail', reason: 'password_auth_unknown_role', ip: '127.0.0.3', user: 'mallory', database: 'shop', prefixOnly: ['database'] })
  }
  await code('NOLOGIN role', '28000', { from: '127.0.0.3', user: 'locked', database: 'shop', password: pw })
  truth.fail({ category: 'auth_fail', reason: 'login_not_permitted', ip: '127.0.0.3', user: 'locked', database: 'shop' }, { authorized: true })

  // --- firewall_deny: no line (.6, with and without TLS), a reject line (.5)
  for (let i = 0; i < 3; i++) {
    await code('no pg_hba line', '28000', { from: '127.0.0.6', user: 'alice', database: 'shop', password: pw })
    truth.fail({ category: 'firewall_deny', reason: 'no_hba_entry', ip: '127.0.0.6', user: 'alice', database: 'shop' })
  }
  await code('no pg_hba line over TLS', '28000', { from: '127.0.0.6', user: 'carol', database: 'postgres', password: pw, ssl: true })
  truth.fail({ category: 'firewall_deny', reason: 'no_hba_entry', ip: '127.0.0.6', user: 'carol', database: 'postgres' })
  for (let i = 0; i < 2; i++) {
    await code('reject line', '28000', { from: '127.0.0.5', user: 'alice', database: 'shop', password: pw })
    truth.fail({ category: 'firewall_deny', reason: 'hba_reject', ip: '127.0.0.5', user: 'alice', database: 'shop' })
  }

  // --- TLS-only rule hit without TLS: by a client admitted over TLS (.2) -> the server requires
  // TLS; by one never admitted (.7): the log line is the same as a firewall deny's, and nothing
  // in the log tells them apart, so it is expected (and documented) as firewall_deny.
  const tlsSession = await connect(t, { from: '127.0.0.2', user: 'alice', database: 'shop', password: pw, ssl: true })
  await tlsSession.end()
  truth.session()
  for (let i = 0; i < 2; i++) {
    await code('TLS-only rule without TLS (admitted before)', '28000', { from: '127.0.0.2', user: 'alice', database: 'shop', password: pw })
    truth.fail({ category: 'tls_reject', reason: 'no_hba_entry_ssl_off_known_client', ip: '127.0.0.2', user: 'alice', database: 'shop' })
  }
  await code('TLS-only rule without TLS (never admitted)', '28000', { from: '127.0.0.7', user: 'alice', database: 'shop', password: pw })
  truth.fail({ category: 'firewall_deny', reason: 'no_hba_entry', ip: '127.0.0.7', user: 'alice', database: 'shop' })

  // --- tls_reject: protocol floor (server TLSv1.3 minimum, client at most TLSv1.2)
  for (let i = 0; i < 2; i++) {
    await code('TLS below the floor', 'EPROTO', { from: '127.0.0.2', user: 'alice', database: 'shop', password: pw, ssl: { maxVersion: 'TLSv1.2' } })
    truth.fail({ category: 'tls_reject', reason: 'tls_unsupported_protocol', ip: '127.0.0.2' })
  }

  // --- libpq (psql, from 127.0.0.1, sslmode=prefer unless said otherwise)
  {
    // admitted: alice logs in over TLS (prefer tries TLS first)
    const ok = await psql(t, { user: 'alice', database: 'shop', password: pw })
    if (ok.code !== 0) throw new Error(`psql as alice failed: ${ok.stderr}`)
    truth.session()
    // carol has no line from .1: TLS attempt denied, retried without TLS, denied again; both
    // are firewall denies although .1 was admitted before (for another user)
    const deny = await psql(t, { user: 'carol', database: 'shop', password: pw })
    const n = attempts(deny.stderr)
    // (the server's part of psql's messages is in the server's language: counted, not read)
    if (n !== 2) throw new Error(`psql sslmode=prefer deny: ${deny.stderr}`)
    for (let i = 0; i < n; i++) truth.fail({ category: 'firewall_deny', reason: 'no_hba_entry', ip: '127.0.0.1', user: 'carol', database: 'shop' })
    // wrong password: libpq retries without TLS, two server-side failures
    const bad = await psql(t, { user: 'alice', database: 'shop', password: 'wrong' })
    const nb = attempts(bad.stderr)
    if (nb < 1) throw new Error(`psql wrong password: ${bad.stderr}`)
    for (let i = 0; i < nb; i++) truth.fail({ category: 'auth_fail', reason: 'password_auth_failed', ip: '127.0.0.1', user: 'alice', database: 'shop', prefixOnly: ['database'] })
    // unknown CA: libpq verifies the server certificate against another CA and aborts the handshake
    const ca = await psql(t, { user: 'alice', database: 'shop', password: pw, sslmode: 'verify-ca', sslrootcert: server.otherCa.certFile })
    if (!ca.stderr.includes('certificate verify failed')) throw new Error(`psql verify-ca: ${ca.stderr}`)
    truth.fail({ category: 'tls_reject', reason: 'tls_certificate_error', ip: '127.0.0.1' })
  }

  // --- user_error (.4, trust)
  await code('unknown role (trust)', '28000', { from: '127.0.0.4', user: 'nobody', database: 'shop' })
  truth.fail({ category: 'user_error', reason: 'role_not_found', ip: '127.0.0.4', user: 'nobody', database: 'shop' }, { authorized: true })
  for (let i = 0; i < 2; i++) {
    await code('missing database', '3D000', { from: '127.0.0.4', user: 'alice', database: 'nosuchdb' })
    truth.fail({ category: 'user_error', reason: 'database_not_found', ip: '127.0.0.4', user: 'alice', database: 'nosuchdb' }, { authorized: true })
  }
  await code('revoked CONNECT', '42501', { from: '127.0.0.4', user: 'alice', database: 'private' })
  truth.fail({ category: 'user_error', reason: 'no_connect_privilege', ip: '127.0.0.4', user: 'alice', database: 'private' }, { authorized: true })

  // --- limit_reached: role and database CONNECTION LIMIT, reserved slots, too many clients
  const held: pg.Client[] = []
  const hold = async (o: Parameters<typeof connect>[1]) => {
    held.push(await connect(t, o))
    truth.session()
  }
  await hold({ from: '127.0.0.4', user: 'limited', database: 'shop' })
  await code('role connection limit', '53300', { from: '127.0.0.4', user: 'limited', database: 'shop' })
  truth.fail({ category: 'limit_reached', reason: 'role_connection_limit', ip: '127.0.0.4', user: 'limited', database: 'shop' }, { authorized: true })
  await hold({ from: '127.0.0.4', user: 'alice', database: 'busy' })
  await code('database connection limit', '53300', { from: '127.0.0.4', user: 'alice', database: 'busy' })
  truth.fail({ category: 'limit_reached', reason: 'database_connection_limit', ip: '127.0.0.4', user: 'alice', database: 'busy' }, { authorized: true })
  // max_connections 10, 2 reserved for superusers, 1 taken by the harness's admin session:
  // 7 ordinary sessions fit (2 are held already)
  for (let i = 0; i < 5; i++) await hold({ from: '127.0.0.4', user: 'alice', database: 'shop' })
  await code('reserved slots', '53300', { from: '127.0.0.4', user: 'alice', database: 'shop' })
  truth.fail({ category: 'limit_reached', reason: 'reserved_slots', ip: '127.0.0.4', user: 'alice', database: 'shop' }, { authorized: true })
  for (let i = 0; i < 2; i++) await hold({ from: '127.0.0.4', user: 'postgres', database: 'shop' })
  await code('too many clients', '53300', { from: '127.0.0.8', user: 'alice', database: 'shop' })
  truth.fail({ category: 'limit_reached', reason: 'too_many_clients', ip: '127.0.0.8', user: 'alice', database: 'shop', prefixOnly: ['user', 'database'] })
  debug('releasing held sessions')
  for (const c of held.splice(0)) await c.end()
  debug('network')

  // --- network: startup packets (raw TCP from .8), broken sessions
  for (let i = 0; i < 2; i++) {
    await raw(t, '127.0.0.8', Buffer.from([0, 0]))
    truth.fail({ category: 'network', reason: 'incomplete_startup_packet', ip: '127.0.0.8' })
  }
  await raw(t, '127.0.0.8', Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]))
  truth.fail({ category: 'network', reason: 'invalid_startup_packet', ip: '127.0.0.8' })
  await raw(t, '127.0.0.8', startupPacket({ user: 'alice', database: 'shop' }, 0x0004_0000))
  truth.fail({ category: 'network', reason: 'unsupported_frontend_protocol', ip: '127.0.0.8' })
  {
    const c = await connect(t, { from: '127.0.0.4', user: 'alice', database: 'shop' })
    await c.query('BEGIN')
    socketOf(c).destroy()
    truth.fail({ category: 'network', reason: 'unexpected_eof_in_transaction', ip: '127.0.0.4', user: 'alice', database: 'shop' }, { authorized: true })
    truth.outcomes.closed++
  }
  {
    const c = await connect(t, { from: '127.0.0.4', user: 'alice', database: 'shop' })
    socketOf(c).resetAndDestroy()
    truth.fail({ category: 'network', reason: 'client_connection_reset', ip: '127.0.0.4', user: 'alice', database: 'shop' }, { authorized: true })
    truth.outcomes.closed++
  }

  await halfMessage(t, '127.0.0.4', 'alice', 'shop')
  truth.fail({ category: 'network', reason: 'incomplete_message', ip: '127.0.0.4', user: 'alice', database: 'shop' }, { authorized: true })
  truth.outcomes.closed++
  debug('terminate')
  // --- transient: a session ended by pg_terminate_backend
  {
    const c = await connect(t, { from: '127.0.0.4', user: 'carol', database: 'shop' })
    const [{ pid }] = await c.query('SELECT pg_backend_pid() AS pid').then((r) => r.rows)
    await server.sql(`SELECT pg_terminate_backend(${pid})`)
    truth.fail({ category: 'transient', reason: 'admin_termination', ip: '127.0.0.4', user: 'carol', database: 'shop' }, { authorized: true })
    truth.outcomes.closed++
    await c.end().catch(() => {})
  }

  if (opts.shutdown) {
    debug('shutdown')
    // a smart shutdown waits for sessions; clients that knock meanwhile are turned away
    const c = await connect(t, { from: '127.0.0.4', user: 'alice', database: 'shop' })
    truth.session()
    await server.closeAdmin() // opened before the rotation: only its disconnection is in these files
    truth.outcomes.closed++
    server.stopNoWait('smart')
    await sleep(300)
    for (let i = 0; i < 3; i++) {
      await code('smart shutdown', '57P03', { from: '127.0.0.3', user: 'alice', database: 'shop', password: pw })
      truth.fail({ category: 'transient', reason: 'shutting_down', ip: '127.0.0.3', user: 'alice', database: 'shop', prefixOnly: ['user', 'database'] })
    }
    await c.end()
    await server.waitStopped()
  }
  // the logging collector writes asynchronously
  await sleep(500)
  return truth
}

function debug(what: string): void {
  if (process.env.CONNRCA_REALPG_DEBUG) console.error(`realpg: ${what}`)
}

function socketOf(c: pg.Client): import('node:net').Socket {
  return (c as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream
}
