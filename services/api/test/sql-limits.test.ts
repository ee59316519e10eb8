/**
 * Ad-hoc SQL cannot take the pipeline down (issue 14): memory, result-size and concurrency caps,
 * no query left running after its answer, and health checks / writes that do not wait for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failure } from '../../../packages/store/test/helpers.js'
import { type Harness, startHarness } from './harness.js'

let h: Harness
const MAX_BYTES = 1024 * 1024

beforeAll(async () => {
  h = await startHarness({
    sql: { maxRows: 100_000, timeoutSec: 20, maxMemoryMB: 256, maxResultBytes: MAX_BYTES, maxConcurrent: 1 },
  })
})
afterAll(() => h?.close())

async function sql(body: Record<string, unknown>) {
  const r = await h.post('/api/v1/sql', body)
  const json = r.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(r.text) : undefined
  return { ...r, json }
}

const SLOW = 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 0'

describe('ad-hoc SQL limits', () => {
  it('stops a query at the memory cap with one line, before the process grows past it', async () => {
    const before = process.memoryUsage().rss
    const started = Date.now()
    const r = await sql({ sql: 'SELECT length(groupArray(number)) FROM numbers(300000000)' })
    expect(r.status).toBe(400)
    expect(r.json.error.code).toBe('sql_memory')
    expect(r.json.error.message).toMatch(/256 MB/)
    expect(r.json.error.message).not.toContain('\n')
    expect(Date.now() - started).toBeLessThan(10_000)
    // the engine lives in this process: its growth is bounded by the cap (plus allocator slack)
    expect(process.memoryUsage().rss - before).toBeLessThan(600 * 1024 * 1024)
  })

  it('cuts a result at the byte cap: the body stays under it and says so', async () => {
    // 30 MB of rows, 10 005 bytes each as a JSON array plus its comma
    const r = await sql({ sql: "SELECT repeat('x', 10000) AS s FROM numbers(3000)" })
    expect(r.status).toBe(200)
    expect(r.text.length).toBeLessThanOrEqual(MAX_BYTES + 4096)
    expect(r.json.truncated).toBe(true)
    expect(r.json.rowCount).toBe(Math.floor(MAX_BYTES / 10_005))
    const csv = await sql({ sql: "SELECT repeat('x', 10000) AS s FROM numbers(3000)", format: 'csv' })
    expect(csv.text.length).toBeLessThanOrEqual(MAX_BYTES + 4096)
    expect(csv.headers.get('x-connrca-truncated')).toBe('true')
  })

  it("refuses the issue's 300 MB result: its one block does not fit the memory cap", async () => {
    const r = await sql({ sql: "SELECT repeat('x', 100000) FROM numbers(3000)" })
    expect(r.status).toBe(400)
    expect(r.json.error.code).toBe('sql_memory')
    expect(r.text.length).toBeLessThan(1000)
  })

  it('refuses a query beyond the concurrency limit with 429 and a Retry-After', async () => {
    const slow = sql({ sql: SLOW, timeoutSec: 3 })
    await new Promise((r) => setTimeout(r, 300))
    const second = await sql({ sql: 'SELECT 1' })
    expect(second.status).toBe(429)
    expect(second.json.error.code).toBe('sql_busy')
    expect(second.headers.get('retry-after')).toBe('20')
    expect((await slow).status).toBe(408)
    // the slot is free again once the first query has stopped
    expect((await sql({ sql: 'SELECT 1' })).status).toBe(200)
  })

  it('leaves no query running after its answer', async () => {
    const r = await sql({ sql: `${SLOW} AND 'marker-6c1f' != ''`, timeoutSec: 3 })
    expect(r.status).toBe(408)
    const running = await h.store.query<{ n: string }>(
      "SELECT count() AS n FROM system.processes WHERE query LIKE '%marker-6c1f%' AND query NOT LIKE '%system.processes%'",
    )
    expect(Number(running[0].n)).toBe(0)
  })

  it('neither /healthz nor the pipeline writes wait for a running query', async () => {
    const slow = sql({ sql: SLOW, timeoutSec: 3 })
    await new Promise((r) => setTimeout(r, 300))
    const t0 = performance.now()
    const health = await fetch(`${h.url}/healthz`)
    const healthMs = performance.now() - t0
    expect(health.status).toBe(200)
    const t1 = performance.now()
    await h.store.insertConnectionEvents(Array.from({ length: 1000 }, (_, i) => failure(900_000 + i)))
    const insertMs = performance.now() - t1
    const t2 = performance.now()
    const dash = await h.get('/api/v1/health')
    const dashMs = performance.now() - t2
    expect(dash.status).toBe(200)
    expect((await slow).status).toBe(408)
    expect(healthMs).toBeLessThan(1000)
    expect(insertMs).toBeLessThan(1500)
    expect(dashMs).toBeLessThan(1500)
  })
})
