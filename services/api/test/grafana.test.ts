/**
 * The provisioned Grafana dashboard: every panel query, with the ClickHouse plugin's macros
 * expanded the way the plugin does, must run on the real schema and return data.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './harness.js'

const dashboard = JSON.parse(
  readFileSync(new URL('../../../infra/grafana/dashboards/connrca.json', import.meta.url), 'utf8'),
)
const datasources = readFileSync(
  new URL('../../../infra/grafana/provisioning/datasources/clickhouse.yaml', import.meta.url),
  'utf8',
)

function expand(sql: string, server: string, category: string): string {
  return sql
    .replace(/\$__timeFilter\((\w+)\)/g, '$1 >= now() - INTERVAL 2 DAY AND $1 <= now()')
    .replace(/\$__timeInterval\((\w+)\)/g, 'toStartOfInterval($1, INTERVAL 300 second)')
    .replace(/\$__fromTime/g, 'toDateTime(now() - INTERVAL 2 DAY)')
    .replace(/\$__toTime/g, 'now()')
    .replace(/\$\{server:singlequote\}/g, server)
    .replace(/\$\{category:singlequote\}/g, category)
}

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(() => h?.close())

describe('Grafana dashboard', () => {
  const panels: { title: string; datasource: { uid: string }; targets: { rawSql: string }[] }[] = dashboard.panels

  it('uses the provisioned datasource everywhere', () => {
    expect(datasources).toContain('uid: connrca-clickhouse')
    for (const p of panels) expect(p.datasource.uid, p.title).toBe('connrca-clickhouse')
    expect(panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(['Failed connection attempts, stacked by cause', 'Top servers', 'Root-cause feed']),
    )
  })

  it.each([
    ["'__all'", "'__all'"],
    ["'orders-prod'", "'firewall_deny'"],
  ])('runs every panel query with server=%s category=%s', async (server, category) => {
    for (const p of panels) {
      for (const t of p.targets) {
        const rows = await h.store.query(expand(t.rawSql, server, category))
        expect(rows.length, p.title).toBeGreaterThan(0)
      }
    }
  })

  it('runs the server variable query', async () => {
    const q = dashboard.templating.list.find((v: { name: string }) => v.name === 'server').query
    const rows = await h.store.query<{ server: string }>(q)
    expect(rows.map((r) => r.server)).toContain('orders-prod')
  })
})
