/**
 * Measures insertConnectionEvents throughput on chDB (or a server with CONNRCA_STORE_URL).
 *   npx tsx packages/store/bench/insert-bench.ts [rows=1000000] [batch=50000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ConnectionEvent } from '@connrca/contracts'
import { countsByServerCategory, openStore } from '../src/index.js'
import { connectionEvents, encodeRows } from '../src/rows.js'

const total = Number(process.argv[2] ?? 1_000_000)
const batch = Number(process.argv[3] ?? 50_000)
const categories = ['auth_fail', 'firewall_deny', 'network', 'tls_reject'] as const
const t0 = 1_700_000_000_000

function event(i: number): ConnectionEvent {
  return {
    id: `f${i.toString(16).padStart(12, '0')}`,
    server: `pg-${i % 20}`,
    time: t0 + i * 3,
    outcome: 'failed',
    category: categories[i % 4],
    reason: 'password_auth_failed',
    sqlstate: '28P01',
    user: `app_${i % 50}`,
    database: 'orders',
    clientIp: `10.0.${(i >> 8) & 255}.${i & 255}`,
    clientPort: 40000 + (i % 20000),
    application: 'psql',
    pid: 1000 + (i % 30000),
    message: `password authentication failed for user "app_${i % 50}"`,
    source: { kind: 'file', name: '/var/log/postgresql/postgresql.log', position: i * 120 },
  }
}

const rows = Array.from({ length: total }, (_, i) => event(i))
let t = performance.now()
let bytes = 0
for (let i = 0; i < total; i += batch) bytes += encodeRows(connectionEvents, rows.slice(i, i + batch)).length
const encodeMs = performance.now() - t
console.log(`encode only: ${(total / (encodeMs / 1000)).toFixed(0)} rows/s, ${(bytes / total).toFixed(0)} bytes/row`)

const dir = mkdtempSync(path.join(tmpdir(), 'connrca-bench-'))
const store = await openStore({ dataDir: dir, url: process.env.CONNRCA_STORE_URL, database: 'bench' })
await store.migrate()
await store.client.command({ query: 'TRUNCATE TABLE connection_events' })
t = performance.now()
for (let i = 0; i < total; i += batch) await store.insertConnectionEvents(rows.slice(i, i + batch))
const insertMs = performance.now() - t
console.log(
  `insertConnectionEvents (${store.kind}, batch ${batch}): ${total} rows in ${insertMs.toFixed(0)} ms = ${(total / (insertMs / 1000)).toFixed(0)} rows/s`,
)
t = performance.now()
const counts = await countsByServerCategory(store)
console.log(
  `countsByServerCategory (FINAL): ${counts.reduce((a, c) => a + c.failures, 0)} in ${(performance.now() - t).toFixed(0)} ms`,
)
await store.close()
rmSync(dir, { recursive: true, force: true })
