/** Debian's rsyslogd run in the foreground for a test, on a config the test writes. */
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { HBA } from './scenario.js'
import { PgServer, realPgTests, sleep } from './server.js'

export const RSYSLOGD = '/usr/sbin/rsyslogd'

/** Why a test that needs rsyslogd cannot run (undefined: it can), and whether it is skipped (never under CI). */
export function rsyslogTests(label: string): { missing: string | undefined; skip: boolean } {
  const missing = existsSync(RSYSLOGD) ? undefined : `${label}: no ${RSYSLOGD} (apt-get install rsyslog)`
  const skip = realPgTests.skip || (missing !== undefined && process.env.CI !== 'true')
  if (missing && skip) console.warn(`\n*** ${missing}: SKIPPED ***\n`)
  return { missing, skip }
}

/**
 * A real PostgreSQL logging to syslog (facility local0, ident postgres) through `sock`, a socket
 * in a fresh directory `dir` that the test's rsyslogd is to create (PgServer's `devLog`).
 */
export async function syslogPgServer(
  name: string,
  settings: Record<string, string>,
): Promise<{ server: PgServer; dir: string; sock: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), `connrca-${name}-`))
  chmodSync(dir, 0o755) // the server's backends (user postgres) write to the socket in it
  const sock = path.join(dir, 'log.sock')
  const server = await PgServer.create({
    hba: HBA,
    devLog: sock,
    settings: { syslog_facility: "'local0'", syslog_ident: "'postgres'", ...settings },
  })
  return { server, dir, sock }
}

export interface Rsyslogd {
  /** What it wrote on stderr so far (a clean run writes nothing). */
  stderr(): string
  stop(): Promise<void>
}

/** Starts rsyslogd on `conf` and waits until it has created `socket` (its imuxsock input). */
export async function startRsyslogd(conf: string, dir: string, socket: string): Promise<Rsyslogd> {
  let err = ''
  const proc: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  proc.stderr?.on('data', (d) => (err += d))
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    await exited
  }
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 400 || proc.exitCode !== null) {
      await stop()
      throw new Error(`rsyslogd did not create its socket: ${err}`)
    }
    await sleep(25)
  }
  return { stderr: () => err, stop }
}
