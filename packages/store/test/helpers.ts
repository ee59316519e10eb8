import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ConnectionEvent, RcaEvent, WindowCount } from '@connrca/contracts'

export const tmpDataDir = (prefix = 'connrca-store-') => mkdtempSync(path.join(tmpdir(), prefix))

export const T0 = Date.UTC(2024, 2, 1, 10, 0, 0)

export function failure(i: number, over: Partial<ConnectionEvent> = {}): ConnectionEvent {
  return {
    id: `ev-${i}`,
    server: `pg-${i % 3}`,
    time: T0 + i * 1000,
    outcome: 'failed',
    category: i % 2 ? 'auth_fail' : 'firewall_deny',
    reason: i % 2 ? 'password_auth_failed' : 'no_pg_hba_entry',
    sqlstate: '28000',
    user: 'app',
    database: 'orders',
    clientIp: `10.0.0.${i % 250}`,
    clientPort: 50000 + i,
    message: `connection ${i} failed: "quoted" \\ and\nnewline`,
    source: { kind: 'file', name: '/var/log/pg.log', position: i * 100 },
    ...over,
  }
}

export function windowCount(over: Partial<WindowCount> = {}): WindowCount {
  return {
    server: 'pg-1',
    category: 'auth_fail',
    windowStart: T0,
    windowEnd: T0 + 60_000,
    failures: 10,
    attempts: 12,
    distinctClients: 2,
    firstFailure: T0 + 1000,
    lastFailure: T0 + 50_000,
    reasons: [{ value: 'password_auth_failed', count: 10 }],
    topClients: [
      { value: '10.0.0.1', count: 7 },
      { value: '10.0.0.2', count: 3 },
    ],
    topUsers: [{ value: 'app', count: 10 }],
    topDatabases: [{ value: 'orders', count: 10 }],
    revision: 1,
    ...over,
  }
}

export function rcaEvent(over: Partial<RcaEvent> = {}): RcaEvent {
  return {
    schema: 'connrca.rca.v1',
    id: 'rca-1',
    revision: 1,
    status: 'open',
    server: 'pg-1',
    category: 'firewall_deny',
    count: 40,
    attempts: 40,
    firstFailure: T0,
    lastFailure: T0 + 120_000,
    windows: [
      { start: T0, end: T0 + 60_000, failures: 25 },
      { start: T0 + 60_000, end: T0 + 120_000, failures: 15 },
    ],
    reasons: [{ value: 'no_pg_hba_entry', count: 40 }],
    topClients: [{ value: '81.2.69.7', count: 40 }],
    topUsers: [{ value: 'app', count: 40 }],
    topDatabases: [{ value: 'orders', count: 40 }],
    sampleMessages: ['no pg_hba.conf entry for host "81.2.69.7"'],
    persistence: 'persistent',
    severity: 'critical',
    title: '40 connections to pg-1 denied by firewall rules',
    text: 'Forty attempts failed.',
    steps: ['Check the firewall rules.', 'Add a rule for 81.2.69.0/24.'],
    suggestion: { kind: 'firewall_rule', startIp: '81.2.69.0', endIp: '81.2.69.255', cidr: '81.2.69.0/24', note: 'n' },
    emittedAt: T0 + 120_000,
    ...over,
  }
}
