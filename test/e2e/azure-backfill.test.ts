import { writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SAMPLE_SERVERS, TEMPLATES } from '@connrca/cli'
import { countsByServerCategory, openStore } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import {
  type AzureEmulator,
  diagnosticsRow,
  type Row,
  serverLogsRow,
  startAzureEmulator,
} from '../support/azure-emulator.js'
import { connrca } from '../support/cli.js'

// `connrca azure backfill` as a user runs it: a child process reading connrca.yaml, the real
// LogsQueryClient over HTTPS (self-signed CA trusted through the source's `caFile`) and a real
// @azure/identity credential. The credential is `managedIdentity`, which on App Service asks the
// local token endpoint named by IDENTITY_ENDPOINT/IDENTITY_HEADER: this test serves that
// endpoint, so the whole CLI credential path runs without Azure.

const FROM = Date.UTC(2026, 2, 2, 0, 0, 0)
const HOURS = 6
const TO = FROM + HOURS * 3_600_000
const IDENTITY_HEADER = 'test-identity-secret'

let emu: AzureEmulator
let tokenServer: http.Server
let tokenUrl: string
/** The secret the token endpoint signs with; the emulator accepts only `emu.secret`. */
let issuedToken = 'test-token'
const tokenRequests: Array<{ resource: string | null; header: string | undefined }> = []
let home: string
let truth: Map<string, number>

/** Deterministic times and counts, so a failure is reproducible. */
function prng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/**
 * Every failure template the generator knows (so every category and reason the classifier
 * knows), worded for each server's PostgreSQL version: orders-prod (Single Server) in
 * AzureDiagnostics, billing-flex (Flexible Server) in PGSQLServerLogs, each failure after its
 * `connection received`, plus successful sessions, non-connection noise and rows outside the range.
 */
function seed(): Map<string, number> {
  const expected = new Map<string, number>()
  const rand = prng(42)
  const at = () => FROM + Math.floor(rand() * (TO - FROM))
  const [single, flexible] = [SAMPLE_SERVERS[0], SAMPLE_SERVERS[1]]
  const targets = [
    { p: single, table: 'AzureDiagnostics', stored: 'orders-prod', row: diagnosticsRow },
    { p: flexible, table: 'PGSQLServerLogs', stored: 'billing', row: serverLogsRow },
  ] as const
  let pid = 20_000
  for (const [ti, t] of targets.entries()) {
    const rows: Row[] = []
    const row = (time: number, message: string, level = 'LOG', sqlstate = '00000', p = pid) =>
      rows.push(t.row({ time, server: t.p.name, message, level, sqlstate, pid: p }))
    for (const [i, template] of Object.values(TEMPLATES).entries()) {
      const n = 1 + ((i * 7 + ti * 3) % 5)
      for (let k = 0; k < n; k++) {
        pid++
        const ip = t.p.appClients[k % t.p.appClients.length]
        const [user] = t.p.users[k % t.p.users.length]
        const time = at()
        const text = template.text({ p: t.p, ip, user, database: t.p.databases[0] })
        row(time - 20, `connection received: host=${ip} port=${40_000 + k}`)
        row(time, text.msg, text.sev, text.sqlstate)
        const key = `${t.stored}/${template.category}`
        expected.set(key, (expected.get(key) ?? 0) + 1)
      }
    }
    for (let k = 0; k < 40; k++) {
      pid++
      const time = at()
      const [user] = t.p.users[k % t.p.users.length]
      row(time, `connection received: host=${t.p.appClients[0]} port=${50_000 + k}`)
      row(time + 15, `connection authorized: user=${user} database=${t.p.databases[0]} SSL enabled (protocol=TLSv1.2)`)
    }
    // Not about connections (filtered out in KQL), and failures outside [FROM, TO): none counts.
    row(FROM + 3_600_000, 'checkpoint starting: time')
    row(FROM - 1000, 'password authentication failed for user "early"', 'FATAL', '28P01', ++pid)
    row(TO, 'password authentication failed for user "late"', 'FATAL', '28P01', ++pid)
    emu.add(t.table, ...rows)
  }
  return expected
}

function writeConfig(dir: string): string {
  const file = join(dir, 'connrca.yaml')
  const azure = azureSource()
  const config = {
    sources: [
      { type: 'file', name: 'local', paths: [join(dir, 'nothing-here.log')] },
      // As most users configure it: only rows the KQL term filter calls connection-related.
      { ...azure, name: 'la' },
      // Every row of the range: the classifier alone decides what concerns connections.
      { ...azure, name: 'la-all', connectionsOnly: false },
    ],
  }
  writeFileSync(file, stringify(config))
  return file
}

function azureSource() {
  return {
    type: 'azure',
    workspaceId: emu.workspaceId,
    endpoint: emu.url,
    caFile: emu.cert.certFile,
    credential: { type: 'managedIdentity' },
    maxSlice: '1h',
    // Small enough that busy hours are split: progress must cope with a growing total.
    maxRows: 40,
    servers: { 'billing-flex': 'billing' },
    retry: { attempts: 2, initialBackoff: '50ms', maxBackoff: '100ms' },
  }
}

const backfill = (config: string, dataDir: string, extra: string[] = [], source = 'la-all') =>
  connrca(
    [
      'azure',
      'backfill',
      '--config',
      config,
      '--source',
      source,
      '--from',
      iso(FROM),
      '--to',
      iso(TO),
      '--data-dir',
      dataDir,
      ...extra,
    ],
    { env: { IDENTITY_ENDPOINT: tokenUrl, IDENTITY_HEADER } },
  )

function iso(ms: number) {
  return new Date(ms).toISOString()
}

async function storedCounts(dataDir: string): Promise<Map<string, number>> {
  const store = await openStore({ dataDir })
  try {
    const rows = await countsByServerCategory(store)
    return new Map(rows.map((r) => [`${r.server}/${r.category}`, r.failures]))
  } finally {
    await store.close()
  }
}

beforeAll(async () => {
  emu = await startAzureEmulator({ secret: 'test-token' })
  tokenServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const header = req.headers['x-identity-header'] as string | undefined
    tokenRequests.push({ resource: url.searchParams.get('resource'), header })
    if (header !== IDENTITY_HEADER) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'invalid_request', error_description: 'wrong identity header' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        // The emulator reads `<audience>|<secret>` as a JWT's aud claim and signature.
        access_token: `${url.searchParams.get('resource')}|${issuedToken}`,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
      }),
    )
  })
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r))
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/msi/token`
  home = await mkdtemp(join(tmpdir(), 'connrca-azure-backfill-'))
  truth = seed()
})

afterAll(async () => {
  await emu?.close()
  await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()))
})

describe('connrca azure backfill', () => {
  const dataDir = () => join(home, 'data')

  it('stores exactly the failed attempts of the range per server and category', async () => {
    const config = writeConfig(home)
    const r = await backfill(config, dataDir())
    expect(r.stderr).not.toMatch(/Error|at .*\.ts:\d+/)
    expect(r.code, r.stderr).toBe(0)

    // The managed-identity credential asked for a Log Analytics token and the emulator accepted it.
    expect(tokenRequests.length).toBeGreaterThan(0)
    expect(tokenRequests[0].resource).toBe('https://api.loganalytics.io')
    expect(emu.requests.length).toBeGreaterThan(0)
    expect(emu.requests.every((q) => q.status === 200)).toBe(true)
    // Both tables, every hour, busy hours split below maxSlice.
    expect(emu.requests.some((q) => q.query.startsWith('PGSQLServerLogs'))).toBe(true)
    const spans = new Set(emu.requests.map((q) => q.query.split('\n')[1]))
    expect(spans.size).toBeGreaterThan(HOURS)

    expect(await storedCounts(dataDir())).toEqual(truth)
    const total = [...truth.values()].reduce((a, b) => a + b, 0)
    expect(r.stdout.trim().split('\n')).toHaveLength(1)
    expect(r.stdout).toMatch(new RegExp(`^backfilled la-all ${iso(FROM).replace('.000Z', 'Z')} \\.\\. `))
    expect(r.stdout).toContain(` ${total} failed connection attempts`)
    expect(r.stderr).toMatch(/la-all: \d+\/\d+ slices \(100\.0%, up to 2026-03-02T06:00:00Z\), \d+ rows, \d+ records/)
  }, 120_000)

  it('a second backfill of the same range changes no count (records keep their ids)', async () => {
    const before = await storedCounts(dataDir())
    const r = await backfill(join(home, 'connrca.yaml'), dataDir(), ['--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary.source).toBe('la-all')
    expect(summary.failures).toBe([...truth.values()].reduce((a, b) => a + b, 0))
    expect(summary.duplicates).toBe(0)
    expect(await storedCounts(dataDir())).toEqual(before)
  }, 120_000)

  // The `connectionsOnly` term filter is the classifier's failureTerms(); a hand-kept list once
  // had no term of several failures ("sorry, too many clients already", "malformed SCRAM message", …).
  it('the default connection filter keeps every failure', async () => {
    const r = await backfill(join(home, 'connrca.yaml'), join(home, 'filtered'), ['--json'], 'la')
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).failures).toBe([...truth.values()].reduce((a, b) => a + b, 0))
  }, 120_000)

  it('a refused token ends in one line that names the cause, not a stack', async () => {
    issuedToken = 'expired-token'
    try {
      const r = await backfill(join(home, 'connrca.yaml'), join(home, 'refused'))
      expect(r.code).toBe(1)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^connrca: la-all: query of workspace .* failed with HTTP 403 InvalidAuthenticationToken: The access token is invalid\. — the token was refused/,
      )
      expect(lines[0]).not.toContain('Reader')
      expect(r.stdout).toBe('')
    } finally {
      issuedToken = 'test-token'
    }
  }, 60_000)

  // The real service's 403s (learn.microsoft.com/azure/azure-monitor/logs/api/errors): only a
  // principal without access is told about the Reader role.
  it('a missing Reader role and a token for another cloud are told apart', async () => {
    emu.reader = false
    try {
      const r = await backfill(join(home, 'connrca.yaml'), join(home, 'no-reader'))
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /HTTP 403 InsufficientAccessError: .* — the credential was refused; it needs the Log Analytics Reader role on the workspace$/,
        ),
      ])
    } finally {
      emu.reader = true
    }
    emu.audience = 'https://api.loganalytics.us'
    try {
      const r = await backfill(join(home, 'connrca.yaml'), join(home, 'wrong-cloud'))
      expect(r.code).toBe(1)
      const line = r.stderr.trim()
      expect(line).toMatch(/HTTP 403 InvalidAuthenticationTokenAudience: .* — the token is for another audience/)
      expect(line).not.toContain('Reader')
      expect(line.includes('\n')).toBe(false)
    } finally {
      emu.audience = 'https://api.loganalytics.io'
    }
  }, 120_000)

  it('a credential that gets no token ends in one line', async () => {
    const r = await connrca(
      [
        'azure',
        'backfill',
        '--config',
        join(home, 'connrca.yaml'),
        '--source',
        'la-all',
        '--from',
        iso(FROM),
        '--to',
        iso(TO),
        '--data-dir',
        join(home, 'no-token'),
      ],
      { env: { IDENTITY_ENDPOINT: tokenUrl, IDENTITY_HEADER: 'wrong' } },
    )
    expect(r.code).toBe(1)
    // The retry before giving up is logged; the error itself is the last line, without a stack.
    const lines = r.stderr.trim().split('\n')
    expect(lines.at(-1)).toMatch(
      /^connrca: la-all: could not get an Azure access token \(credential type managedIdentity\): ManagedIdentityCredential: .*wrong identity header/,
    )
    expect(lines.every((l) => l.startsWith('connrca: '))).toBe(true)
  }, 120_000)

  it('unknown source and bad dates are one-line user errors', async () => {
    const config = join(home, 'connrca.yaml')
    const unknown = await connrca(['azure', 'backfill', '--config', config, '--source', 'nope', '--from', '2026-03-01'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe(`connrca: ${config}: no azure source named "nope" (azure sources: la, la-all)\n`)
    const wrongType = await connrca([
      'azure',
      'backfill',
      '--config',
      config,
      '--source',
      'local',
      '--from',
      '2026-03-01',
    ])
    expect(wrongType.stderr).toBe(
      `connrca: ${config}: source "local" is of type file, not azure (azure sources: la, la-all)\n`,
    )
    const bad = await connrca(['azure', 'backfill', '--config', config, '--from', '2026-02-30'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^connrca: --from "2026-02-30" is not an ISO 8601 date or time/)
    const ambiguous = await connrca(['azure', 'backfill', '--config', config, '--from', '2026-03-01'])
    expect(ambiguous.code).toBe(2)
    expect(ambiguous.stderr).toBe(`connrca: ${config} has several azure sources; pick one with --source (la, la-all)\n`)
    const reversed = await connrca([
      'azure',
      'backfill',
      '--config',
      config,
      '--from',
      '2026-03-02T10:00',
      '--to',
      '2026-03-02',
    ])
    expect(reversed.stderr).toBe('connrca: --from (2026-03-02T10:00:00Z) must be before --to (2026-03-02T00:00:00Z)\n')
  }, 60_000)
})
