import { type Category, TopQuery, TopResponse, type TopRow } from '@connrca/contracts'
import type { Deps } from '../deps.js'
import { route } from '../router.js'
import { FROM_MS, filterSql, ms, num, TO_MS } from '../sql-fragments.js'
import { resolveRange } from '../time.js'

/** Column per dimension: the identifiers come from this table, never from the request. */
const EVENT_COLUMN = { client: 'client_ip', user: 'user', database: 'database' } as const

interface Cell {
  value: string
  category: string
  n: number
  last: number
  servers: string[]
}

function topSql(by: TopQuery['by'], filters: string): string {
  if (by === 'server') {
    return `WITH src AS (
              SELECT server AS value, category, sum(failures) AS n, max(last_failure) AS last, emptyArrayString() AS servers
              FROM window_counts FINAL
              WHERE window_start >= ${FROM_MS} AND window_start < ${TO_MS}${filters}
              GROUP BY value, category)
            SELECT value, category, toFloat64(n) AS n, ${ms('last')} AS last, servers
            FROM src
            WHERE value IN (SELECT value FROM src GROUP BY value ORDER BY sum(n) DESC, value LIMIT {limit:UInt32})`
  }
  const col = EVENT_COLUMN[by]
  return `WITH src AS (
            SELECT ${col} AS value, category, uniqExact(id) AS n, max(time) AS last, groupUniqArray(1000)(server) AS servers
            FROM connection_events
            WHERE outcome = 'failed' AND ${col} != '' AND time >= ${FROM_MS} AND time < ${TO_MS}${filters}
            GROUP BY value, category)
          SELECT value, category, toFloat64(n) AS n, ${ms('last')} AS last, servers
          FROM src
          WHERE value IN (SELECT value FROM src GROUP BY value ORDER BY sum(n) DESC, value LIMIT {limit:UInt32})`
}

function totalSql(by: TopQuery['by'], filters: string): string {
  return by === 'server'
    ? `SELECT toFloat64(sum(failures)) AS n FROM window_counts FINAL
       WHERE window_start >= ${FROM_MS} AND window_start < ${TO_MS}${filters}`
    : `SELECT toFloat64(uniqExact(id)) AS n FROM connection_events
       WHERE outcome = 'failed' AND time >= ${FROM_MS} AND time < ${TO_MS}${filters}`
}

export function topRoutes(deps: Deps) {
  return [
    route({
      method: 'GET',
      path: '/api/v1/top',
      tag: 'failures',
      summary: 'Top servers, client ips, users or databases by failed attempts',
      description:
        'Rows sorted by failures with a per-category breakdown. `servers` is the number of servers a client, ' +
        'user or database failed against. `total` counts all failures in the range (for shares).',
      query: TopQuery,
      response: TopResponse,
      async handler({ query, now }) {
        const range = resolveRange(query, now, deps.maxRangeMs)
        const params: Record<string, unknown> = { from: range.from, to: range.to, limit: query.limit }
        const filters = filterSql(query, params)
        const [cells, totals] = await Promise.all([
          deps.query<Cell>(topSql(query.by, filters), params),
          deps.query<{ n: number }>(totalSql(query.by, filters), params),
        ])
        const rows = new Map<string, TopRow>()
        const serverSets = new Map<string, Set<string>>()
        for (const c of cells) {
          let row = rows.get(c.value)
          if (!row) rows.set(c.value, (row = { value: c.value, failures: 0, byCategory: {}, lastFailure: null }))
          const n = num(c.n)
          row.failures += n
          row.byCategory[c.category as Category] = (row.byCategory[c.category as Category] ?? 0) + n
          const last = num(c.last)
          if (row.lastFailure === null || last > row.lastFailure) row.lastFailure = last
          if (query.by !== 'server') {
            let set = serverSets.get(c.value)
            if (!set) serverSets.set(c.value, (set = new Set()))
            for (const s of c.servers) set.add(s)
            row.servers = set.size
          }
        }
        // equal counts in code-unit order, as the SQL's ORDER BY chose them (and analyze lists them)
        const sorted = [...rows.values()].sort((a, b) => b.failures - a.failures || (a.value < b.value ? -1 : 1))
        return { ...range, by: query.by, rows: sorted, total: num(totals[0]?.n ?? 0) }
      },
    }),
  ]
}
