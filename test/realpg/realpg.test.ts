/**
 * A real PostgreSQL 15 server is the judge: the scenario (scenario.ts) drives every failure class
 * with known counts, and `connrca analyze --json --no-store` on the files the server wrote must
 * report exactly what the test did — per category and reason, client addresses, users and
 * databases, and the received / authorized / closed outcomes — under several log_line_prefix
 * settings (auto-detected, no flags, for the well-known ones), in csvlog and jsonlog, and with
 * the server's messages in German.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { ConnectionEvent } from '@connrca/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_LINE } from '../../packages/pglog/src/jsonlog.js'
import { connrca } from '../support/cli.js'
import { HBA, runScenario, SETUP_SQL, type Truth } from './scenario.js'
import { PgServer, realPgTests } from './server.js'

async function analyze(file: string, extra: string[] = []) {
  const r = await connrca(['analyze', '--json', '--no-store', ...extra, file])
  if (r.code !== 0) throw new Error(`connrca analyze ${file} failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as { records: number; unparsed: number; outcomes: Truth['outcomes']; totals: ReturnType<Truth['totals']> }
}

/** The jsonlog lines the server wrote that the parser's fast path does not read (it should read all). */
function offShape(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !PG_LINE.test(l))
}

function judge(got: Awaited<ReturnType<typeof analyze>>, truth: Truth, userDb = true): void {
  // CONNRCA_REALPG_DEBUG=1: the counts of each run, for the closing note
  if (process.env.CONNRCA_REALPG_DEBUG) console.error(`realpg-counts ${JSON.stringify({ records: got.records, outcomes: truth.outcomes, totals: truth.totals(userDb) })}`)
  expect(got.unparsed).toBe(0)
  expect(got.totals).toEqual(truth.totals(userDb))
  expect(got.outcomes).toEqual(truth.outcomes)
}

/** German server messages need the OS locale; generated once (see .ci/run: `locales`). */
function ensureGermanLocale(): void {
  const have = execFileSync('locale', ['-a'], { encoding: 'utf8' })
  if (/^de_DE\.utf-?8$/im.test(have)) return
  execFileSync('localedef', ['-i', 'de_DE', '-f', 'UTF-8', 'de_DE.UTF-8'], { stdio: 'pipe' })
}

describe.skipIf(realPgTests.skip)('classification judged by a real PostgreSQL 15', () => {
  let server: PgServer

  beforeAll(async () => {
    if (realPgTests.reason) throw new Error(realPgTests.reason)
    server = await PgServer.create({ hba: HBA })
    for (const q of SETUP_SQL) await server.sql(q)
  })
  afterAll(async () => {
    await server?.destroy()
  })

  /** Restarts after the previous run's smart shutdown, applies the settings, rotates the logs. */
  async function fresh(settings: Record<string, string>): Promise<void> {
    if (!(await server.isRunning())) server.start()
    await server.reconfigure(settings)
  }

  const PREFIXES: [name: string, prefix: string, flags: boolean][] = [
    ['Debian', '%m [%p] %q%u@%d ', false],
    ['PostgreSQL default', '%m [%p] ', false],
    ['Azure (Single and Flexible Server)', '%t-%c-', false],
    ['RDS', '%t:%r:%u@%d:[%p]:', false],
    ['custom with %e', '%m %e [%p] %r %q%u/%d/%a ', true],
  ]

  for (const [name, prefix, flags] of PREFIXES) {
    it(`stderr with ${name}'s prefix ${JSON.stringify(prefix)}${flags ? ' (given with --prefix)' : ' (auto-detected)'}, csvlog and jsonlog`, async () => {
      await fresh({ log_line_prefix: prefix, lc_messages: 'C.UTF-8' })
      const truth = await runScenario(server, { shutdown: true })
      const logs = server.currentLogs()
      judge(await analyze(logs.stderr, flags ? ['--prefix', prefix] : []), truth, prefix.includes('%u') && prefix.includes('%d'))
      if (name === 'Debian') {
        judge(await analyze(logs.csv), truth)
        judge(await analyze(logs.json), truth)
        expect(offShape(logs.json)).toEqual([])
      }
    }, 90_000)
  }

  it('what the diagnosis reads beside the message: the pg_hba.conf line of an authentication failure, the TLS versions the server asks for; hba denies name no line', async () => {
    await fresh({ log_line_prefix: '%m [%p] %q%u@%d ', lc_messages: 'C.UTF-8' })
    await runScenario(server, { shutdown: true })
    const r = await connrca(['classify', '--format', 'csvlog', '--server', 'pg15'], {
      input: readFileSync(server.currentLogs().csv, 'utf8'),
    })
    expect(r.code, r.stderr).toBe(0)
    const failed = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ConnectionEvent)
      .filter((e) => e.outcome === 'failed')
    // PG 15 writes `Connection matched pg_hba.conf line 5: "host all all 127.0.0.3/32 scram-sha-256"`
    const wrongPassword = failed.filter((e) => e.reason?.startsWith('password_auth'))
    expect(wrongPassword.length).toBeGreaterThan(0)
    for (const e of wrongPassword)
      expect(e.hbaLine).toMatch(/^line \d+: host\s+all\s+\S+\s+127\.0\.0\.\d+\/32\s+scram-sha-256$/)
    const floor = failed.filter((e) => e.reason === 'tls_unsupported_protocol')
    expect(floor.length).toBeGreaterThan(0)
    for (const e of floor) expect(e.serverTls).toBe('TLSv1.3') // ssl_min_protocol_version = TLSv1.3, no maximum: "between TLSv1.3 and TLSv1.3"
    const denies = failed.filter((e) => e.category === 'firewall_deny')
    expect(denies.length).toBeGreaterThan(0)
    for (const e of denies) expect(e.hbaLine).toBeUndefined()
  }, 90_000)

  it('German server messages (lc_messages = de_DE.UTF-8): csvlog, jsonlog and stderr with %e, exact', async () => {
    ensureGermanLocale()
    const prefix = '%m [%p] %e %q%u@%d '
    await fresh({ log_line_prefix: prefix, lc_messages: 'de_DE.UTF-8' })
    const truth = await runScenario(server, { shutdown: true })
    const logs = server.currentLogs()
    judge(await analyze(logs.csv), truth)
    judge(await analyze(logs.json), truth)
    expect(offShape(logs.json)).toEqual([])
    judge(await analyze(logs.stderr, ['--prefix', prefix]), truth)
  }, 120_000)
})
