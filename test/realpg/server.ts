/**
 * A real PostgreSQL server for tests: Debian's binaries (`/usr/lib/postgresql/<v>/bin`), a fresh
 * `initdb` in a temp dir owned by the `postgres` OS user (initdb refuses root), a free TCP port,
 * TLS with a certificate made at test time, connection logging to stderr + csvlog + jsonlog through
 * the logging collector. `rotate()` starts new log files so each scenario run is judged on its own.
 *
 * Without the binaries the suite is skipped loudly, except under CI=true, where it runs and fails
 * (the same rule as the Kafka and Chromium tests).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { makeTestCert } from '../support/tls-cert.js'
import { freePort } from '../support/free-port.js'

export const PG_BIN = process.env.CONNRCA_PG_BIN ?? '/usr/lib/postgresql/15/bin'

function decide(): { skip: boolean; reason?: string } {
  const missing = ['initdb', 'pg_ctl', 'postgres'].filter((b) => !existsSync(path.join(PG_BIN, b)))
  if (!missing.length && !spawnSync('id', ['-u', 'postgres']).status) return { skip: false }
  const reason = `real-PostgreSQL tests SKIPPED: ${missing.length ? `no ${missing.join(', ')} in ${PG_BIN}` : 'no `postgres` OS user'} (apt-get install postgresql)`
  if (process.env.CI === 'true') return { skip: false, reason }
  console.warn(`\n${'!'.repeat(100)}\n!! ${reason}\n${'!'.repeat(100)}\n`)
  return { skip: true, reason }
}

/** `describe.skipIf(realPgTests.skip)(...)`. */
export const realPgTests = decide()

export interface PgServerOptions {
  /** pg_hba.conf lines (after the local trust line the harness needs). */
  hba: string[]
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string | number>
  /**
   * A unix datagram socket the server's `/dev/log` stands for (log_destination = 'syslog'): libc's
   * syslog() writes only to /dev/log, so the server runs in its own mount namespace whose /dev is a
   * copy of the machine's (symlinks) plus `log` -> this path. The machine's /dev is not touched.
   */
  devLog?: string
}

/** Runs a PostgreSQL binary as the `postgres` OS user. */
function asPostgres(bin: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C.UTF-8', ...env },
    timeout: 60_000,
  })
}

export class PgServer {
  readonly dir: string
  readonly data: string
  readonly logDir: string
  readonly socketDir: string
  readonly cert = makeTestCert()
  /** A second, unrelated CA: clients that trust only it reject the server's certificate. */
  readonly otherCa = makeTestCert()
  private admin: pg.Client | undefined

  private constructor(
    readonly port: number,
    private readonly opts: PgServerOptions,
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'connrca-realpg-'))
    this.data = path.join(this.dir, 'data')
    this.logDir = path.join(this.dir, 'log')
    this.socketDir = path.join(this.dir, 'sock')
  }

  static async create(opts: PgServerOptions): Promise<PgServer> {
    const s = new PgServer(await freePort(), opts)
    s.init()
    s.start()
    return s
  }

  private init(): void {
    chownSync(this.dir, uid('postgres'), gid('postgres'))
    chmodSync(this.dir, 0o755)
    asPostgres('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'])
    for (const d of [this.logDir, this.socketDir]) {
      execFileSync('runuser', ['-u', 'postgres', '--', 'mkdir', '-p', d])
    }
    // the server reads its key as the postgres user, with no group/other access
    for (const [from, to] of [
      [this.cert.certFile, 'server.crt'],
      [this.cert.keyFile, 'server.key'],
    ] as const) {
      const dest = path.join(this.data, to)
      writeFileSync(dest, readFileSync(from))
      chownSync(dest, uid('postgres'), gid('postgres'))
      chmodSync(dest, 0o600)
    }
    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      port: this.port,
      unix_socket_directories: `'${this.socketDir}'`,
      max_connections: 10,
      superuser_reserved_connections: 2,
      ssl: 'on',
      ssl_cert_file: "'server.crt'",
      ssl_key_file: "'server.key'",
      ssl_min_protocol_version: "'TLSv1.3'",
      password_encryption: "'scram-sha-256'",
      logging_collector: 'on',
      log_destination: "'stderr,csvlog,jsonlog'",
      log_directory: `'${this.logDir}'`,
      log_filename: "'pg-%Y%m%d-%H%M%S.log'",
      log_rotation_age: 0,
      log_rotation_size: 0,
      log_connections: 'on',
      log_disconnections: 'on',
      log_line_prefix: "'%m [%p] %q%u@%d '",
      log_timezone: "'UTC'",
      lc_messages: "'C.UTF-8'",
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: "'16MB'",
      max_wal_senders: 0,
      wal_level: 'minimal',
      autovacuum: 'off',
      ...this.opts.settings,
    }
    const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}`)
    writeFileSync(path.join(this.data, 'postgresql.conf'), `${readFileSync(path.join(this.data, 'postgresql.conf'), 'utf8')}\n${conf.join('\n')}\n`)
    writeFileSync(path.join(this.data, 'pg_hba.conf'), `local all all trust\n${this.opts.hba.join('\n')}\n`)
  }

  start(): void {
    const args = ['-D', this.data, '-w', '-t', '30', '-l', path.join(this.dir, 'pg_ctl.log'), 'start']
    if (this.opts.devLog === undefined) {
      asPostgres('pg_ctl', args)
      return
    }
    // the postmaster and its children keep the namespace after unshare and pg_ctl have exited
    const realDev = path.join(this.dir, 'dev.real')
    mkdirSync(realDev, { recursive: true })
    const script = [
      'set -e',
      `mount --rbind /dev "${realDev}"`,
      'mount -t tmpfs -o mode=755 connrca-dev /dev',
      `for e in "${realDev}"/*; do ln -s "$e" "/dev/\${e##*/}"; done`,
      `ln -sfn "${this.opts.devLog}" /dev/log`,
      `exec runuser -u postgres -- "${path.join(PG_BIN, 'pg_ctl')}" "$@"`,
    ].join('\n')
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
      timeout: 60_000,
    })
    if (r.status !== 0)
      throw new Error(
        `starting PostgreSQL with its own /dev/log needs a private mount namespace (root, unshare --mount and mount allowed): ${(r.stderr || String(r.error)).trim()}`,
      )
  }

  /** `pg_ctl stop -m <mode>` without waiting: the caller drives what happens during shutdown. */
  stopNoWait(mode: 'smart' | 'fast'): void {
    asPostgres('pg_ctl', ['-D', this.data, '-m', mode, '-W', 'stop'])
  }

  /** Waits until the postmaster is gone (after a smart shutdown whose sessions ended). */
  async waitStopped(timeoutMs = 30_000): Promise<void> {
    const pidFile = path.join(this.data, 'postmaster.pid')
    const until = Date.now() + timeoutMs
    while (existsSync(pidFile)) {
      if (Date.now() > until) throw new Error('PostgreSQL did not stop')
      await sleep(50)
    }
  }

  async isRunning(): Promise<boolean> {
    return existsSync(path.join(this.data, 'postmaster.pid'))
  }

  stop(): void {
    if (existsSync(path.join(this.data, 'postmaster.pid'))) asPostgres('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', 'stop'])
  }

  async destroy(): Promise<void> {
    await this.closeAdmin()
    try {
      this.stop()
    } finally {
      rmSync(this.dir, { recursive: true, force: true })
    }
  }

  /**
   * SQL as the superuser over one long-lived unix-socket session, opened before the judged log
   * files begin: the harness's own work leaves no connection lines in them.
   */
  async sql(text: string): Promise<pg.QueryResultRow[]> {
    if (!this.admin) {
      this.admin = new pg.Client({ host: this.socketDir, port: this.port, user: 'postgres', database: 'postgres' })
      this.admin.on('error', () => {}) // ended by a shutdown
      await this.admin.connect()
    }
    return (await this.admin.query(text)).rows
  }

  /** Drops the admin session (before a shutdown that waits for sessions). */
  async closeAdmin(): Promise<void> {
    const a = this.admin
    this.admin = undefined
    await a?.end().catch(() => {})
  }

  /** Log files of the current rotation, by extension. */
  currentLogs(): { stderr: string; csv: string; json: string } {
    const files = readdirSync(this.logDir)
      .map((f) => path.join(this.logDir, f))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || (a < b ? -1 : 1))
    const last = (ext: string) => {
      const f = files.filter((x) => x.endsWith(ext)).at(-1)
      if (!f) throw new Error(`no ${ext} log in ${this.logDir}`)
      return f
    }
    return { stderr: last('.log'), csv: last('.csv'), json: last('.json') }
  }

  /**
   * New settings + a new set of log files: the files written from here on hold only what follows.
   * Waits until the collector has opened them (their names carry the second they were opened).
   */
  async reconfigure(settings: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(settings)) await this.sql(`ALTER SYSTEM SET ${k} = '${v.replaceAll("'", "''")}'`)
    await this.sql('SELECT pg_reload_conf()')
    // the postmaster and the collector take the new settings on SIGHUP, asynchronously
    await sleep(200)
    await this.rotate()
  }

  async rotate(): Promise<void> {
    const before = readdirSync(this.logDir).length
    // file names have one-second resolution: a rotation within the same second would reuse them
    await sleep(1100)
    await this.sql('SELECT pg_rotate_logfile()')
    const until = Date.now() + 10_000
    while (readdirSync(this.logDir).length < before + 3) {
      if (Date.now() > until) throw new Error('log rotation did not create new files')
      await sleep(20)
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
}
function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim())
}
