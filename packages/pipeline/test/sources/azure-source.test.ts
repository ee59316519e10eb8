import { readFileSync } from 'node:fs'
import net from 'node:net'
import type { AccessToken, TokenCredential } from '@azure/core-auth'
import { LogsQueryClient } from '@azure/monitor-query-logs'
import { Classifier, FAILURE_TEXTS } from '@connrca/classifier'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type AzureEmulator,
  diagnosticsRow,
  hasTerm,
  serverLogsRow,
  startAzureEmulator,
} from '../../../../test/support/azure-emulator.js'
import { credentialFor, scopesFor } from '../../src/sources/azure/index.js'
import { type AzureMonitorSource, backfill, createSource, type PullProgress } from '../../src/sources/index.js'
import { Collector } from './helpers.js'

// Real SDK client (LogsQueryClient) over HTTPS against the emulator; the test CA is trusted
// through the source's `caFile` (the SDK's tlsOptions), not by switching TLS checks off.

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0)
const MIN = 60_000
let emu: AzureEmulator

let credential: TokenCredential

beforeAll(async () => {
  emu = await startAzureEmulator()
  credential = emu.credential
})
afterAll(async () => {
  await emu.close()
})

function seed(): void {
  emu.tables.clear()
  emu.faults.length = 0
  emu.requests.length = 0
  emu.maxConcurrent = 0
  emu.resultLimit = 500_000
  emu.resultBytesLimit = 64 * 1024 * 1024
  emu.reader = true
  emu.audience = 'https://api.loganalytics.io'
  emu.now = () => clock
  emu.overflowColumns.clear()
  emu.missingTableShape = 'nested'
  emu.credential.scopes.length = 0
  const rows = []
  for (let i = 0; i < 30; i++) {
    rows.push(
      diagnosticsRow({
        time: NOW - 50 * MIN + i * MIN,
        server: 'orders-prod',
        level: 'FATAL',
        sqlstate: '28000',
        pid: 7000 + i,
        message: `no pg_hba.conf entry for host "81.2.69.${i}", user "app", database "orders", SSL on`,
      }),
    )
  }
  // Not about connections: filtered out in KQL.
  rows.push(diagnosticsRow({ time: NOW - 10 * MIN, server: 'orders-prod', message: 'checkpoint starting: time' }))
  emu.add('AzureDiagnostics', ...rows)
  emu.add(
    'PGSQLServerLogs',
    serverLogsRow({
      time: NOW - 5 * MIN,
      server: 'billing-flex',
      message: 'connection received: host=10.2.0.4 port=50412',
    }),
    serverLogsRow({
      time: NOW - 4 * MIN,
      server: 'billing-flex',
      level: 'FATAL',
      sqlstate: '53300',
      message: 'remaining connection slots are reserved for non-replication superuser connections',
    }),
  )
}

function config(extra: Record<string, unknown> = {}) {
  return {
    type: 'azure',
    name: 'la',
    workspaceId: emu.workspaceId,
    endpoint: emu.url,
    caFile: emu.cert.certFile,
    initialLookback: '1h',
    overlap: '10m',
    servers: { 'billing-flex': 'billing' },
    retry: { attempts: 4, initialBackoff: '20ms', maxBackoff: '100ms' },
    ...extra,
  } as never
}

let clock = NOW
function source(extra: Record<string, unknown> = {}, logs: string[] = []): AzureMonitorSource {
  return createSource(config(extra), {
    credential,
    now: () => clock,
    logger: (l) => logs.push(l),
  }) as AzureMonitorSource
}

beforeEach(() => {
  seed()
  clock = NOW
})

describe('azure source against the Log Analytics emulator', () => {
  it('pulls both tables through the SDK, filtered to connection rows, mapped server names, stable ids', async () => {
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(32)
    expect(c.records.filter((r) => r.server === 'orders-prod').length).toBe(30)
    expect(c.records.filter((r) => r.server === 'billing').length).toBe(2)
    const fatal = c.records.find((r) => r.sqlstate === '53300')!
    expect(fatal.severity).toBe('FATAL')
    expect(fatal.message).toBe('remaining connection slots are reserved for non-replication superuser connections')
    expect(new Set(c.records.map((r) => r.id)).size).toBe(32)
    expect(c.records.every((r) => typeof r.source.position === 'string' && r.source.kind === 'azure')).toBe(true)
    // Scheduled pulls window on ingestion time.
    expect(emu.requests[0].query).toMatch(/^AzureDiagnostics\n\| where ingestion_time\(\) >= datetime\(/)
    expect(emu.requests[0].query).toContain('| where Category == "PostgreSQLLogs"')
    expect(emu.requests.some((r) => r.query.startsWith('PGSQLServerLogs'))).toBe(true)
  })

  it('honours 429 Retry-After and retries transient 503s', async () => {
    emu.faults.push({ status: 429, retryAfter: '1' }, { status: 503 })
    const c = new Collector()
    const logs: string[] = []
    const src = source({}, logs)
    const t0 = Date.now()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
    expect(emu.requests.slice(0, 3).map((r) => r.status)).toEqual([429, 503, 200])
    expect(c.records.length).toBe(32)
    expect(logs.join('\n')).toMatch(/throttled \(429\).*retrying in 1 s/)
  })

  it('waits for the Retry-After of a 503 (load or maintenance) too', async () => {
    emu.faults.push({ status: 503, retryAfter: '1' })
    const c = new Collector()
    const logs: string[] = []
    const t0 = Date.now()
    const done = await backfill(config() as never, NOW - 60 * MIN, NOW, c.deliver, undefined, {
      credential,
      logger: (l) => logs.push(l),
    })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
    expect(done.records).toBe(32)
    expect(logs.join('\n')).toMatch(/HTTP 503 .*retrying in 1 s/)
  })

  it('splits a slice whose result would be truncated, until every row is read once', async () => {
    emu.resultLimit = 7
    const c = new Collector()
    const src = source({ maxRows: 6 })
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(32)
    expect(new Set(c.records.map((r) => r.id)).size).toBe(32)
    expect(emu.requests.length).toBeGreaterThan(8)
    // In time order across slices.
    const times = c.records.filter((r) => r.server === 'orders-prod').map((r) => r.time)
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('detects truncation reported by the service as a partial result', async () => {
    emu.resultLimit = 10
    const c = new Collector()
    const src = source({ maxRows: 1000 })
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(32)
  })

  it('does not take other partial results as complete: splits, and keeps the checkpoint when they persist', async () => {
    emu.faults.push({ partial: 'shard' })
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(32)

    seed()
    for (let i = 0; i < 100; i++) emu.faults.push({ partial: 'shard' })
    const c2 = new Collector()
    const logs: string[] = []
    const failing = source({}, logs)
    await failing.start(c2.deliver)
    await failing.caughtUp()
    await failing.stop()
    expect(failing.checkpoint()).toBeUndefined()
    expect(logs.join('\n')).toMatch(/giving up on AzureDiagnostics .* after 4 attempts: partial result/)
  })

  it('picks up late-arriving rows through the overlap and does not deliver a row twice, also after a restart', async () => {
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    expect(c.records.length).toBe(32)
    // Ingested late: event time before the last pull's end.
    emu.add(
      'AzureDiagnostics',
      diagnosticsRow({
        time: NOW - 3 * MIN,
        server: 'orders-prod',
        level: 'FATAL',
        sqlstate: '28P01',
        message: 'password authentication failed for user "late"',
        ingested: NOW + 20_000,
      }),
    )
    clock = NOW + MIN
    await src.pullNow()
    expect(c.records.length).toBe(33)
    expect(c.records[32].sqlstate).toBe('28P01')
    const cp = JSON.parse(JSON.stringify(src.checkpoint()))
    expect(cp.until).toBe(NOW + MIN)
    await src.stop()

    // Restart: the overlap is queried again; remembered ids keep it from being delivered twice.
    emu.add(
      'PGSQLServerLogs',
      serverLogsRow({
        time: NOW + 30_000,
        server: 'billing-flex',
        level: 'FATAL',
        sqlstate: '28000',
        message: 'no pg_hba.conf entry for host "10.9.9.9", user "x", database "y", SSL off',
        ingested: NOW + 90_000,
      }),
    )
    const c2 = new Collector()
    clock = NOW + 2 * MIN
    const again = source()
    await again.start(c2.deliver, cp)
    await again.caughtUp()
    await again.stop()
    expect(c2.records.map((r) => r.message)).toEqual([
      'no pg_hba.conf entry for host "10.9.9.9", user "x", database "y", SSL off',
    ])
    const q = emu.requests.at(-1)!.query
    expect(q).toContain(`ingestion_time() >= datetime(${new Date(NOW + MIN - 10 * MIN).toISOString()})`)
  })

  it('never runs two pulls of one workspace at once', async () => {
    const c = new Collector()
    const logs: string[] = []
    const src = source({}, logs)
    await src.start(c.deliver)
    const second = src.pullNow()
    await Promise.all([src.caughtUp(), second])
    await src.stop()
    expect(emu.maxConcurrent).toBe(1)
    expect(logs.join('\n')).toContain('previous pull still running')
    expect(c.records.length).toBe(32)
  })

  it('backfill reads a past range slice by slice with progress', async () => {
    const c = new Collector()
    const progress: PullProgress[] = []
    const final = await backfill(
      { ...(config({ maxSlice: '15m' }) as object) } as never,
      new Date(NOW - 60 * MIN),
      new Date(NOW),
      c.deliver,
      (p) => progress.push(p),
      { credential },
    ).catch((e) => {
      throw e
    })
    expect(c.records.length).toBe(32)
    expect(progress.length).toBe(4)
    expect(progress.map((p) => p.doneUntil)).toEqual([NOW - 45 * MIN, NOW - 30 * MIN, NOW - 15 * MIN, NOW])
    expect(final.records).toBe(32)
  })

  it('a wrong token ends in one clear line without the secret', async () => {
    const bad: TokenCredential = {
      getToken: async (): Promise<AccessToken> => ({
        token: 'https://api.loganalytics.io|not-the-token',
        expiresOnTimestamp: Date.now() + 3_600_000,
      }),
    }
    const err = await backfill(config() as never, NOW - MIN * 60, NOW, async () => {}, undefined, {
      credential: bad,
    }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toMatch(
      /^la: query of workspace .* failed with HTTP 403 InvalidAuthenticationToken: The access token is invalid\.$/,
    )
    expect(err?.message).not.toContain('not-the-token')
    expect(err?.message.includes('\n')).toBe(false)
  })
})

const ISO = (ms: number) => new Date(ms).toISOString()

describe('issue 13: the Log Analytics source against the service as it really answers', () => {
  // Fault 1: a workspace has only the tables its diagnostic settings created.
  it('reads the tables that exist and says once which are missing (only AzureDiagnostics, then only PGSQLServerLogs)', async () => {
    emu.tables.delete('PGSQLServerLogs')
    const logs: string[] = []
    const c = new Collector()
    const src = source({}, logs)
    await src.start(c.deliver)
    await src.caughtUp()
    clock = NOW + MIN
    await src.pullNow()
    await src.stop()
    expect(c.records.length).toBe(30)
    expect(src.checkpoint()?.until).toBe(NOW + MIN)
    expect(logs.filter((l) => l.includes('PGSQLServerLogs'))).toEqual([
      `la: table PGSQLServerLogs does not exist in workspace ${emu.workspaceId} (no diagnostic setting writes to it); reading AzureDiagnostics`,
    ])

    seed()
    emu.tables.delete('AzureDiagnostics')
    const c2 = new Collector()
    const only = source()
    await only.start(c2.deliver)
    await only.caughtUp()
    await only.stop()
    expect(c2.records.map((r) => r.server)).toEqual(['billing', 'billing'])
  })

  it('says in one line when none of the tables exists', async () => {
    emu.tables.delete('AzureDiagnostics')
    emu.tables.delete('PGSQLServerLogs')
    // The workspace has other data: the 400s, not a 204.
    emu.add('Heartbeat', { TimeGenerated: new Date(NOW - MIN).toISOString() })
    const logs: string[] = []
    const c = new Collector()
    const src = source({}, logs)
    await src.start(c.deliver)
    await src.caughtUp()
    clock = NOW + MIN
    await src.pullNow()
    await src.stop()
    expect(c.records.length).toBe(0)
    expect(logs).toEqual([
      `la: tables AzureDiagnostics, PGSQLServerLogs do not exist in workspace ${emu.workspaceId} (no diagnostic setting writes to them); nothing to read`,
    ])
  })

  it('also finds the missing table when the SEM0100 comes as JSON text in innererror.information.details', async () => {
    emu.missingTableShape = 'json-text'
    emu.tables.delete('PGSQLServerLogs')
    const logs: string[] = []
    const c = new Collector()
    const src = source({}, logs)
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(30)
    expect(src.checkpoint()?.until).toBe(NOW)
    expect(logs).toEqual([
      `la: table PGSQLServerLogs does not exist in workspace ${emu.workspaceId} (no diagnostic setting writes to it); reading AzureDiagnostics`,
    ])
  })

  // Fault 2: the limit text is only in details[].innererror, which the SDK drops.
  it('splits on a PartialError whose limit text the SDK drops (rows), and on the size limit', async () => {
    emu.resultLimit = 10
    const c = new Collector()
    const src = source({ maxRows: 1000 })
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(32)
    expect(new Set(c.records.map((r) => r.id)).size).toBe(32)

    seed()
    emu.resultBytesLimit = 3000
    const c2 = new Collector()
    const bySize = source({ maxRows: 1000 })
    await bySize.start(c2.deliver)
    await bySize.caughtUp()
    await bySize.stop()
    expect(c2.records.length).toBe(32)
    expect(emu.requests.some((r) => r.status === 200)).toBe(true)
  })

  it('keeps maxRows below the service limit of 500,000 rows', () => {
    expect(() => source({ maxRows: 500_000 })).toThrow(/maxRows/)
    expect(() => source({ maxRows: 499_999 })).not.toThrow()
  })

  // Fault 3: the SDK asks for https://api.loganalytics.io/.default whatever the endpoint.
  it('derives the token scope and the authority host from the endpoint', () => {
    expect(scopesFor(undefined)).toEqual(['https://api.loganalytics.io/.default'])
    expect(scopesFor('https://api.loganalytics.io/v1')).toEqual(['https://api.loganalytics.io/.default'])
    expect(scopesFor('https://api.loganalytics.azure.com/v1')).toEqual(['https://api.loganalytics.io/.default'])
    expect(scopesFor('https://api.loganalytics.azure.cn/v1')).toEqual(['https://api.loganalytics.azure.cn/.default'])
    expect(scopesFor('https://api.loganalytics.us/v1')).toEqual(['https://api.loganalytics.us/.default'])
    expect(scopesFor('https://proxy.example/v1', 'https://api.loganalytics.us')).toEqual([
      'https://api.loganalytics.us/.default',
    ])
  })

  it('asks the credential for the sovereign cloud audience, which the service accepts', async () => {
    emu.audience = 'https://api.loganalytics.azure.cn'
    const c = new Collector()
    const src = source({ audience: 'https://api.loganalytics.azure.cn' })
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(emu.credential.scopes[0]).toEqual(['https://api.loganalytics.azure.cn/.default'])
    expect(c.records.length).toBe(32)
  })

  it('a client-secret credential asks the configured authorityHost for its token', async () => {
    let connections = 0
    const login = net.createServer((s) => {
      connections++
      s.destroy()
    })
    await new Promise<void>((r) => login.listen(0, '127.0.0.1', r))
    try {
      const port = (login.address() as net.AddressInfo).port
      const cred = await credentialFor({
        ...(config({
          credential: {
            type: 'clientSecret',
            tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
            clientId: '00000000-0000-0000-0000-000000000001',
            clientSecret: 'not-a-real-secret',
            authorityHost: `https://127.0.0.1:${port}`,
            // Not a cloud MSAL knows: without this it first asks login.microsoftonline.com about it.
            disableInstanceDiscovery: true,
          },
        }) as object),
      } as never)
      await expect(cred.getToken('https://api.loganalytics.azure.cn/.default')).rejects.toThrow()
      expect(connections).toBeGreaterThan(0)
    } finally {
      login.close()
    }
  }, 30_000)

  // Fault 4: on Azure, DETAIL is a column, not a row.
  it('reads DETAIL from its column, so password mismatch, unknown role and expired password are told apart', async () => {
    emu.tables.clear()
    const matched = '\nConnection matched pg_hba.conf line 3: "host all all 0.0.0.0/0 scram-sha-256"'
    const details = [
      `Password does not match for user "app".${matched}`,
      `Role "ghost" does not exist.${matched}`,
      `User "old" has an expired password.${matched}`,
    ]
    details.forEach((detail, i) => {
      const p = { time: NOW - 30 * MIN + i * MIN, level: 'FATAL', sqlstate: '28P01', pid: 9000 + i, detail }
      emu.add(
        'PGSQLServerLogs',
        serverLogsRow({ ...p, server: 'billing-flex', message: 'password authentication failed for user "app"' }),
      )
      emu.add(
        'AzureDiagnostics',
        diagnosticsRow({
          ...p,
          server: 'orders-flex',
          flavour: 'flexible',
          message: 'password authentication failed for user "app"',
        }),
      )
    })
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    const classifier = new Classifier()
    const reasons = (server: string) =>
      c.records.filter((r) => r.server === server).map((r) => classifier.classify(r)?.reason)
    expect(reasons('billing')).toEqual(['password_mismatch', 'password_auth_unknown_role', 'password_expired'])
    expect(reasons('orders-flex')).toEqual(['password_mismatch', 'password_auth_unknown_role', 'password_expired'])
    expect(c.records.find((r) => r.server === 'billing')?.detail).toBe(details[0])
  })

  // Fault 5: resource logs arrive minutes late, up to ~20 minutes.
  it('windows on ingestion time: a row that arrives 20 minutes late is read, once', async () => {
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    expect(c.records.length).toBe(32)
    emu.add(
      'PGSQLServerLogs',
      serverLogsRow({
        time: NOW - 20 * MIN,
        server: 'billing-flex',
        level: 'FATAL',
        sqlstate: '53300',
        message: 'sorry, too many clients already',
        ingested: NOW + 30_000,
      }),
    )
    clock = NOW + MIN
    await src.pullNow()
    clock = NOW + 2 * MIN
    await src.pullNow()
    await src.stop()
    expect(c.records.length).toBe(33)
    expect(c.records[32].message).toBe('sorry, too many clients already')
    expect(c.records[32].time).toBe(NOW - 20 * MIN)
  })

  // Fault 6: the KQL term filter is the classifier's failureTerms().
  it('the connection filter keeps every failure text the classifier knows, and the throttling wording', async () => {
    emu.tables.clear()
    const texts = [
      'malformed SCRAM message',
      'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0',
      'invalid frontend message type 0',
      'too many failed login attempts, please try again later',
      'connection throttled from IP address "203.0.113.7": too many login attempts',
    ]
    for (const [i, message] of texts.entries()) {
      const time = NOW - 20 * MIN + i * MIN
      emu.add(
        'AzureDiagnostics',
        diagnosticsRow({ time, server: 'orders-prod', level: 'FATAL', sqlstate: '08P01', pid: 8000 + i, message }),
      )
    }
    emu.add(
      'PGSQLServerLogs',
      serverLogsRow({ time: NOW - 5 * MIN, server: 'billing-flex', message: 'checkpoint starting: time' }),
    )
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.map((r) => r.message)).toEqual(texts)
    const classifier = new Classifier()
    expect(c.records.map((r) => classifier.classify(r)?.reason)).toEqual([
      'scram_exchange_failed',
      'unsupported_frontend_protocol',
      'invalid_frontend_message',
      'login_throttled',
      'login_throttled',
    ])
    expect(hasTerm('checkpoint starting: time', 'connection')).toBe(false)
  })

  it('the connection filter keeps a row for every failure text of the classifier catalog', async () => {
    emu.tables.clear()
    // A catalog text names a role or database as `"… `; any name will do.
    const texts = FAILURE_TEXTS.map((t) => t.replace('"… ', '"x" '))
    for (const [i, message] of texts.entries())
      emu.add(
        'AzureDiagnostics',
        diagnosticsRow({
          time: NOW - 50 * MIN + i * 1000,
          server: 'orders-prod',
          level: 'FATAL',
          pid: 6000 + i,
          message,
        }),
      )
    emu.add(
      'AzureDiagnostics',
      diagnosticsRow({ time: NOW - MIN, server: 'orders-prod', message: 'checkpoint complete' }),
    )
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    const kept = new Set(c.records.map((r) => r.message))
    expect(texts.filter((t) => !kept.has(t))).toEqual([])
    expect(kept.has('checkpoint complete')).toBe(false)
  })

  // Fault 7: the smaller ones.
  it('Ctrl-C stops a pull at once, although the SDK ignores abortSignal', async () => {
    emu.faults.push({ delayMs: 5000 })
    const abort = new AbortController()
    const t0 = Date.now()
    setTimeout(() => abort.abort(new Error('interrupted')), 200)
    const err = await backfill(config() as never, NOW - 60 * MIN, NOW, async () => {}, undefined, {
      credential,
      signal: abort.signal,
    }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toBe('interrupted')
    expect(Date.now() - t0).toBeLessThan(1500)
  }, 10_000)

  it('stopping a scheduled source does not wait for a slow query either', async () => {
    emu.faults.push({ delayMs: 5000 })
    const logs: string[] = []
    const src = source({}, logs)
    await src.start(new Collector().deliver)
    await new Promise((r) => setTimeout(r, 200))
    const t0 = Date.now()
    await src.stop()
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(src.checkpoint()).toBeUndefined()
    expect(logs).toEqual([])
  }, 10_000)

  it('a 504 (query over the server timeout) splits the slice instead of retrying it at the same size', async () => {
    emu.faults.push({ status: 504 })
    const c = new Collector()
    const done = await backfill(config() as never, NOW - 60 * MIN, NOW, c.deliver, undefined, { credential })
    expect(done.records).toBe(32)
    expect(emu.requests[0].status).toBe(504)
    expect(emu.requests[1].query).toContain(
      `TimeGenerated >= datetime(${ISO(NOW - 60 * MIN)}) and TimeGenerated < datetime(${ISO(NOW - 30 * MIN)})`,
    )
  })

  it("an empty workspace's 204 is an empty result, not an error retried forever", async () => {
    emu.tables.clear()
    const logs: string[] = []
    const c = new Collector()
    const src = source({}, logs)
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(emu.requests.map((r) => r.status)).toEqual([204, 204])
    expect(c.records.length).toBe(0)
    expect(src.checkpoint()?.until).toBe(NOW)
    expect(logs).toEqual([])
  })

  it("reads fields that overflowed AzureDiagnostics' 500 columns from AdditionalFields", async () => {
    // Message, errorLevel_s and LogicalServerName_s are among the 200 columns every workspace has.
    for (const c of ['sqlerrcode_s', 'processId_d', 'detail_log_s']) emu.overflowColumns.add(c)
    emu.add(
      'AzureDiagnostics',
      diagnosticsRow({
        time: NOW - 5 * MIN,
        server: 'orders-flex',
        flavour: 'flexible',
        level: 'FATAL',
        sqlstate: '28P01',
        pid: 4242,
        message: 'password authentication failed for user "app"',
        detail: 'Role "app" does not exist.',
      }),
    )
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    const orders = c.records.filter((r) => r.server === 'orders-prod' && r.severity === 'FATAL')
    expect(orders.length).toBe(30)
    expect(orders.every((r) => r.sqlstate === '28000')).toBe(true)
    const flex = c.records.find((r) => r.server === 'orders-flex')!
    expect([flex.sqlstate, flex.pid, flex.detail]).toEqual(['28P01', 4242, 'Role "app" does not exist.'])
    expect(new Classifier().classify(flex)?.reason).toBe('password_auth_unknown_role')
  })

  it('a token for another audience is named as such (403 InvalidAuthenticationTokenAudience)', async () => {
    emu.audience = 'https://api.loganalytics.us'
    const err = await backfill(config() as never, NOW - 60 * MIN, NOW, async () => {}, undefined, { credential }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toMatch(/^la: query of workspace .* failed with HTTP 403 InvalidAuthenticationTokenAudience: /)
    expect(err?.message.includes('\n')).toBe(false)
  })

  it('queries PGSQLServerLogs without the Category and Prefix columns it does not have', async () => {
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    const q = emu.requests.find((r) => r.query.startsWith('PGSQLServerLogs'))!.query
    expect(q).not.toMatch(/Category|Prefix/)
    expect(q).toMatch(/Detail = column_ifexists\("Detail", ""\)/)
  })
})

// What the installed SDK makes of the service's answers (the emulator's, with their sources):
// the reasons for the workarounds above. If an SDK upgrade changes one, this says which.
describe('what @azure/monitor-query-logs surfaces (the reasons for the workarounds)', () => {
  const span = { startTime: new Date(NOW - 60 * MIN), endTime: new Date(NOW) }
  const sdk = () =>
    new LogsQueryClient(emu.credential, {
      endpoint: `${emu.url}/v1`,
      retryOptions: { maxRetries: 0 },
      tlsOptions: { ca: readFileSync(emu.cert.certFile) },
    })
  const q = (t: string) => `${t}\n| project TimeGenerated, Message`
  const caught = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: Error & { statusCode?: number; details?: unknown }) => e,
    )

  it('asks for the public cloud scope whatever the endpoint', async () => {
    await sdk().queryWorkspace(emu.workspaceId, q('AzureDiagnostics'), span)
    expect(emu.credential.scopes[0]).toEqual(['https://api.loganalytics.io/.default'])
  })

  it('gives a missing table only the generic 400 message; the SEM0100 is in details', async () => {
    emu.tables.delete('PGSQLServerLogs')
    const e = await caught(sdk().queryWorkspace(emu.workspaceId, q('PGSQLServerLogs'), span))
    expect(e?.statusCode).toBe(400)
    expect(e?.message).toBe('The request had some invalid properties')
    expect(JSON.stringify(e?.details)).toContain("Failed to resolve table or column expression named 'PGSQLServerLogs'")
  })

  it('drops innererror.information, where the other shape of a missing-table 400 names the table', async () => {
    emu.missingTableShape = 'json-text'
    emu.tables.delete('PGSQLServerLogs')
    const e = await caught(sdk().queryWorkspace(emu.workspaceId, q('PGSQLServerLogs'), span))
    expect(e?.statusCode).toBe(400)
    expect(JSON.stringify(e?.details)).not.toContain('PGSQLServerLogs')
  })

  it("drops a partial result's details[].innererror, where the limit is named", async () => {
    emu.resultLimit = 5
    const r = await sdk().queryWorkspace(emu.workspaceId, q('AzureDiagnostics'), span)
    expect(r.status).toBe('PartialFailure')
    const err = (r as { partialError: { details?: unknown[] } }).partialError
    expect(err.details).toEqual([
      { code: 'EngineError', message: 'Something went wrong processing your query on the server.' },
    ])
    expect(JSON.stringify(err)).not.toMatch(/limit/)
  })

  it("throws a TypeError on an empty workspace's 204", async () => {
    emu.tables.clear()
    const e = await caught(sdk().queryWorkspace(emu.workspaceId, q('AzureDiagnostics'), span))
    expect(e).toBeInstanceOf(TypeError)
    expect(e?.statusCode).toBeUndefined()
  })

  it('ignores abortSignal', async () => {
    emu.faults.push({ delayMs: 600 })
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 50)
    const t0 = Date.now()
    const r = await sdk().queryWorkspace(emu.workspaceId, q('AzureDiagnostics'), span, { abortSignal: abort.signal })
    expect(r.status).toBe('Success')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550)
  })
})
