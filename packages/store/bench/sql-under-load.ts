/**
 * Ad-hoc SQL under load (issue 14): while the pipeline's writer inserts connection events in a
 * loop and /healthz is polled every 50 ms, POST /api/v1/sql runs (1) the memory hog
 * `SELECT length(groupArray(number)) FROM numbers(300000000)` and (2) a query that runs into its
 * 10 s limit. Prints RSS peak, /healthz p50/p99/max and insert rows/s before and during each.
 *
 *   npx tsx packages/store/bench/sql-under-load.ts [batchRows]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ConnectionEvent } from '@connrca/contracts'
import { createApiServer } from '../../../services/api/src/index.js'
import { openStore } from '../src/index.js'

const BATCH = Number(process.argv[2] ?? 5000)
const dir = mkdtempSync(path.join(tmpdir(), 'connrca-sql-load-'))
const store = await openStore({ dataDir: dir })
await store.migrate()
const api = createApiServer({ store, config: { port: 0, sql: { timeoutSec: 10, maxRows: 10_000 } }, onError: () => {} })
const { url } = await api.listen()

let seq = 0
const event = (i: number): ConnectionEvent => ({
  id: `ev-${i}`,
  server: `pg-${i % 5}`,
  time: Date.now() - 60_000 + (i % 60_000),
  outcome: 'failed',
  category: 'auth_fail',
  reason: 'password_auth_failed',
  sqlstate: '28P01',
  user: 'app',
  database: 'orders',
  clientIp: `10.0.${(i >> 8) & 255}.${i & 255}`,
  clientPort: 40000 + (i % 20000),
  message: `password authentication failed for user "app" (${i})`,
  source: { kind: 'file', name: '/var/log/postgresql/postgresql.log', position: i * 120 },
})

/** Inserted rows with the time each batch finished. */
const inserts: { t: number; rows: number }[] = []
let stop = false
const writer = (async () => {
  while (!stop) {
    const rows = Array.from({ length: BATCH }, () => event(seq++))
    await store.insertConnectionEvents(rows)
    inserts.push({ t: performance.now(), rows: rows.length })
  }
})()

const probes: { t: number; ms: number }[] = []
const prober = (async () => {
  while (!stop) {
    const t0 = performance.now()
    await fetch(`${url}/healthz`).then((r) => r.text())
    probes.push({ t: t0, ms: performance.now() - t0 })
    await new Promise((r) => setTimeout(r, 50))
  }
})()

let rssPeak = 0
const rssTimer = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
}, 20)

async function phase(name: string, sql: string) {
  await new Promise((r) => setTimeout(r, 3000)) // baseline
  const b0 = performance.now() - 3000
  const t0 = performance.now()
  rssPeak = process.memoryUsage().rss
  const rssBefore = rssPeak
  const res = await fetch(`${url}/api/v1/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  })
  const body = await res.text()
  const t1 = performance.now()
  // probes that were waiting during the query finish after it: count them too
  while (!probes.some((p) => p.t > t1)) await new Promise((r) => setTimeout(r, 50))
  const rate = (from: number, to: number) =>
    Math.round((inserts.filter((i) => i.t >= from && i.t < to).reduce((a, i) => a + i.rows, 0) / (to - from)) * 1000)
  const lat = probes
    .filter((p) => p.t < t1 && p.t + p.ms > t0)
    .map((p) => p.ms)
    .sort((a, b) => a - b)
  const q = (f: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(0) : 'n/a')
  console.log(
    `${name}: HTTP ${res.status} after ${((t1 - t0) / 1000).toFixed(1)} s (${body.length} bytes: ${body.slice(0, 90).replace(/\n/g, ' ')})`,
  )
  console.log(
    `  RSS ${(rssBefore / 1e6).toFixed(0)} MB -> peak ${(rssPeak / 1e6).toFixed(0)} MB; /healthz n=${lat.length} p50 ${q(0.5)} ms p99 ${q(0.99)} ms max ${lat.length ? lat[lat.length - 1].toFixed(0) : 'n/a'} ms`,
  )
  console.log(`  inserts: ${rate(b0, t0)} rows/s before, ${rate(t0, t1)} rows/s during`)
}

await phase('memory hog', 'SELECT length(groupArray(number)) FROM numbers(300000000)')
await phase('10 s query', 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 0')
stop = true
await Promise.all([writer, prober])
clearInterval(rssTimer)
await api.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
