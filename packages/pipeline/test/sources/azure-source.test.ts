import type { AccessToken, TokenCredential } from '@azure/core-auth'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type AzureEmulator,
  diagnosticsRow,
  serverLogsRow,
  startAzureEmulator,
} from '../../../../test/support/azure-emulator.js'
import { type AzureMonitorSource, backfill, createSource, type PullProgress } from '../../src/sources/index.js'
import { Collector } from './helpers.js'

// Real SDK client (LogsQueryClient) over HTTPS against the emulator; the test CA is trusted
// through the source's `caFile` (the SDK's tlsOptions), not by switching TLS checks off.

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0)
const MIN = 60_000
let emu: AzureEmulator

const credential: TokenCredential = {
  getToken: async (): Promise<AccessToken> => ({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
}

beforeAll(async () => {
  emu = await startAzureEmulator({ token: 'test-token' })
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
    expect(emu.requests[0].query).toMatch(/^AzureDiagnostics\n\| where TimeGenerated >= datetime\(/)
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

  it('does not take other partial results as complete: retries, and keeps the checkpoint when they persist', async () => {
    emu.faults.push({ partial: 'shard' })
    const c = new Collector()
    const src = source()
    await src.start(c.deliver)
    await src.caughtUp()
    await src.stop()
    expect(c.records.length).toBe(32)

    seed()
    for (let i = 0; i < 10; i++) emu.faults.push({ partial: 'shard' })
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
    expect(q).toContain(`datetime(${new Date(NOW + MIN - 10 * MIN).toISOString()})`)
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
      getToken: async () => ({ token: 'not-the-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
    }
    const err = await backfill(config() as never, NOW - MIN * 60, NOW, async () => {}, undefined, {
      credential: bad,
    }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toMatch(/^la: query of workspace .* failed with HTTP 401: /)
    expect(err?.message).not.toContain('not-the-token')
    expect(err?.message.includes('\n')).toBe(false)
  })
})
