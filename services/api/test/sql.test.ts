import { readFileSync } from 'node:fs'
import { SqlResponse } from '@connrca/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES, renderSchemaMarkdown, TABLES } from '../src/index.js'
import { type Harness, startHarness } from './harness.js'

let h: Harness

beforeAll(async () => {
  h = await startHarness({ sql: { maxRows: 1000, timeoutSec: 2 } })
})
afterAll(() => h?.close())

async function sql(body: Record<string, unknown>) {
  const r = await h.post('/api/v1/sql', body)
  const json = r.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(r.text) : undefined
  return { ...r, json }
}

describe('POST /api/v1/sql', () => {
  it('runs a read-only query and answers JSON', async () => {
    const r = await sql({
      sql: "SELECT server, count() AS n FROM connection_events WHERE outcome = 'failed' GROUP BY server ORDER BY server",
    })
    expect(r.status).toBe(200)
    const body = SqlResponse.parse(r.json)
    expect(body.columns.map((c) => c.name)).toEqual(['server', 'n'])
    expect(body.rowCount).toBe(6)
    expect(body.truncated).toBe(false)
    const failed = h.data.connectionEvents.filter((e) => e.outcome === 'failed' && e.server === 'crm-prod').length
    expect(body.rows.find((row) => row[0] === 'crm-prod')?.[1]).toBe(String(failed))
  })

  it('answers CSV and a text table', async () => {
    const q = "SELECT 'a,b' AS x, 2 AS y"
    const csv = await sql({ sql: q, format: 'csv' })
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(csv.text).toBe('x,y\n"a,b",2\n')
    const table = await sql({ sql: q, format: 'table' })
    expect(table.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(table.text).toMatch(/^x +│ y/)
    expect(table.text).toMatch(/1 row in \d+ ms/)
  })

  it.each([
    ['INSERT INTO dead_letters (id) VALUES (1)', /refused|read-only|not allowed/i],
    ['DROP TABLE connection_events', /refused|read-only|not allowed/i],
    ['CREATE TABLE t (x UInt8) ENGINE = Memory', /refused|read-only|not allowed/i],
    ['ALTER TABLE connection_events DELETE WHERE 1', /refused|read-only|not allowed/i],
    ['TRUNCATE TABLE rca_events', /refused|read-only|not allowed/i],
    ['SELECT * FROM system.users', /system\.users/i],
    ['SELECT name, auth_type FROM system.users', /system\.users/i],
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", /file/i],
    ["SELECT * FROM url('http://169.254.169.254/', 'LineAsString')", /url/i],
    ['SELECT 1; DROP TABLE rca_events', /one statement|several|multiple/i],
    ['SELECT 1 SETTINGS readonly = 0', /settings/i],
  ])('refuses %s with a clear message', async (statement, msg) => {
    const r = await sql({ sql: statement })
    expect(r.status).toBe(400)
    expect(r.json.error.code).toBe('sql_refused')
    expect(r.json.error.message).toMatch(msg)
    expect(r.json.error.message).not.toContain('\n')
  })

  it('leaves the tables intact after the refused statements', async () => {
    const r = await sql({ sql: 'SELECT uniqExact(id) FROM rca_events' })
    expect(Number(r.json.rows[0][0])).toBe(new Set(h.data.rcaEvents.map((e) => e.id)).size)
    const tables = await sql({ sql: 'SHOW TABLES' })
    expect(tables.json.rows.flat()).toEqual(expect.arrayContaining(['connection_events', 'dead_letters', 'rca_events']))
  })

  it('cuts huge results at the row limit and says so', async () => {
    const r = await sql({ sql: 'SELECT number FROM numbers(10000000)' })
    expect(r.status).toBe(200)
    expect(r.json.truncated).toBe(true)
    expect(r.json.rowCount).toBe(1000)
    const csv = await sql({ sql: 'SELECT number FROM numbers(10000000)', format: 'csv' })
    expect(csv.headers.get('x-connrca-truncated')).toBe('true')
    expect(csv.text.split('\n').length).toBe(1 + 1000 + 1)
    // a caller may ask for fewer rows, never for more than the server limit
    const fewer = await sql({ sql: 'SELECT number FROM numbers(100)', maxRows: 10 })
    expect(fewer.json.rowCount).toBe(10)
    const more = await sql({ sql: 'SELECT number FROM numbers(5000)', maxRows: 100000 })
    expect(more.json.rowCount).toBe(1000)
  })

  it('stops slow queries at the time limit with 408', async () => {
    const started = Date.now()
    const r = await sql({ sql: 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 0' })
    expect(r.status).toBe(408)
    expect(r.json.error.code).toBe('sql_timeout')
    expect(r.json.error.message).toMatch(/2 s limit/)
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('reports ClickHouse errors in one line', async () => {
    const r = await sql({ sql: 'SELECT nope FROM connection_events' })
    expect(r.status).toBe(400)
    expect(r.json.error.code).toBe('sql_failed')
    expect(r.json.error.message).toMatch(/nope/)
    expect(r.json.error.message).not.toContain('\n')
  })

  it('validates the body', async () => {
    const r = await sql({ query: 'SELECT 1' })
    expect(r.status).toBe(400)
    expect(r.json.error.message).toMatch(/^body\.sql: /)
    const bad = await h.post('/api/v1/sql', '{not json')
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text).error.code).toBe('bad_json')
  })
})

describe('schema documentation', () => {
  it('documents exactly the columns the tables have', async () => {
    const rows = await h.store.query<{ table: string; name: string; type: string }>(
      'SELECT table, name, type FROM system.columns WHERE database = currentDatabase() AND table IN {t:Array(String)} ORDER BY table, position',
      { t: TABLES.map((t) => t.name) },
    )
    for (const t of TABLES) {
      const actual = rows.filter((r) => r.table === t.name).map((r) => [r.name, r.type.replace(/\s+/g, ' ')])
      const documented = t.columns.map((c) => [c.name, c.type.replace(/\s+/g, ' ')])
      expect(documented, t.name).toEqual(actual)
    }
  })

  it('runs the example queries through the guarded SQL endpoint', async () => {
    expect(EXAMPLES.length).toBe(3)
    for (const e of EXAMPLES) {
      const r = await sql({ sql: e.sql })
      expect(r.status, e.title).toBe(200)
      expect(r.json.rowCount, e.title).toBeGreaterThan(0)
    }
    const ranges = await sql({ sql: EXAMPLES[1].sql })
    expect(ranges.json.rows[0].slice(0, 2)).toEqual(['orders-prod', '81.2.69.0/24'])
  })

  it('keeps SCHEMA.md in sync with the module', () => {
    const file = readFileSync(new URL('../SCHEMA.md', import.meta.url), 'utf8')
    expect(normalizeMarkdown(file)).toBe(normalizeMarkdown(renderSchemaMarkdown()))
  })

  it('serves the schema at /api/v1/schema', async () => {
    const r = await h.get('/api/v1/schema')
    expect(r.status).toBe(200)
    expect(r.body.tables.map((t: { name: string }) => t.name)).toContain('rca_events')
  })
})

/** Table cells trimmed and separator rows reduced, so a formatter's column padding is not a difference. */
function normalizeMarkdown(md: string): string {
  return md
    .trim()
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split(/(?<!\\)\|/)
            .map((c) => (/^\s*:?-+:?\s*$/.test(c) ? '---' : c.trim()))
            .join('|')
        : line.trimEnd(),
    )
    .join('\n')
}
