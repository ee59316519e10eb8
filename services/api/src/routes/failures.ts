import {
  CATEGORIES,
  type Category,
  FailuresQuery,
  FailuresResponse,
  RatioQuery,
  RatioResponse,
  type Series,
} from '@connrca/contracts'
import type { Deps } from '../deps.js'
import { route } from '../router.js'
import { bucket, FROM_MS, filterSql, num, TO_MS } from '../sql-fragments.js'
import { alignDown, bucketTimes, resolveRange, resolveStep } from '../time.js'

const OTHER = '(other)'

interface Cell {
  t: number
  k: string
  c: string
  n: number
}

/**
 * Per-category and per-server series come from window_counts (FINAL: the latest revision of
 * each window); per-reason and per-client series need the raw connection_events, counted by
 * distinct id so re-delivered events never count twice.
 */
function failuresSql(groupBy: FailuresQuery['groupBy'], filters: string): string {
  const src =
    groupBy === 'category' || groupBy === 'server'
      ? `SELECT ${bucket('window_start')} AS t, ${groupBy === 'category' ? 'category' : 'server'} AS k,
                any(category) AS c, sum(failures) AS n
         FROM window_counts FINAL
         WHERE window_start >= ${FROM_MS} AND window_start < ${TO_MS}${filters}
         GROUP BY t, k`
      : `SELECT ${bucket('time')} AS t, ${groupBy === 'reason' ? 'reason' : 'client_ip'} AS k,
                any(category) AS c, uniqExact(id) AS n
         FROM connection_events
         WHERE outcome = 'failed' AND time >= ${FROM_MS} AND time < ${TO_MS}${filters}
         GROUP BY t, k`
  // Top `limit` keys by total keep their own series; the rest fold into one.
  return `WITH src AS (${src}),
               top AS (SELECT k FROM src GROUP BY k ORDER BY sum(n) DESC, k LIMIT {limit:UInt32})
          SELECT toFloat64(t) AS t, if(k IN (SELECT k FROM top), k, '${OTHER}') AS k, any(c) AS c, toFloat64(sum(n)) AS n
          FROM src GROUP BY t, k`
}

export function failuresRoutes(deps: Deps) {
  return [
    route({
      method: 'GET',
      path: '/api/v1/failures',
      tag: 'failures',
      summary: 'Failed connection attempts over time',
      description:
        'Counts per time bucket, one series per category (default) or per server, reason or client ip. ' +
        'Buckets are clock-aligned; `from` in the response is the start of the first bucket.',
      query: FailuresQuery,
      response: FailuresResponse,
      async handler({ query, now }) {
        const range = resolveRange(query, now, deps.maxRangeMs)
        const step = resolveStep(range, query.step, deps.windowMs)
        const from = alignDown(range.from, step)
        const params: Record<string, unknown> = { from, to: range.to, step, limit: query.limit }
        const filters = filterSql(query, params)
        const rows = await deps.query<Cell>(failuresSql(query.groupBy, filters), params)
        const times = bucketTimes(range, step)
        return { from, to: range.to, step, groupBy: query.groupBy, times, ...toSeries(rows, times, from, step, query) }
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/failure-ratio',
      tag: 'failures',
      summary: 'Failed attempts as a share of received connections',
      description:
        'failures / attempts per bucket from connection_events (attempts = `connection received` lines, ' +
        'so it needs log_connections). Capped at 1; null where a bucket has no attempts. ' +
        'A category filter narrows the failures, not the attempts.',
      query: RatioQuery,
      response: RatioResponse,
      async handler({ query, now }) {
        const range = resolveRange(query, now, deps.maxRangeMs)
        const step = resolveStep(range, query.step, deps.windowMs)
        const from = alignDown(range.from, step)
        const params: Record<string, unknown> = { from, to: range.to, step }
        const serverFilter = filterSql({ server: query.server }, params)
        let failedCond = "outcome = 'failed'"
        if (query.category?.length) {
          failedCond += ' AND category IN {category:Array(String)}'
          params.category = query.category
        }
        const rows = await deps.query<{ t: number; server: string; f: number; a: number }>(
          `SELECT toFloat64(${bucket('time')}) AS t, server,
                  toFloat64(uniqExactIf(id, ${failedCond})) AS f,
                  toFloat64(uniqExactIf(id, outcome = 'received')) AS a
           FROM connection_events
           WHERE time >= ${FROM_MS} AND time < ${TO_MS} AND outcome IN ('failed', 'received')${serverFilter}
           GROUP BY t, server`,
          params,
        )
        const times = bucketTimes(range, step)
        return { from, to: range.to, step, times, ...toRatio(rows, times.length, from, step, query.limit) }
      },
    }),
  ]
}

function toSeries(rows: Cell[], times: number[], from: number, step: number, q: FailuresQuery) {
  const byKey = new Map<string, Series>()
  let total = 0
  for (const r of rows) {
    const i = Math.round((num(r.t) - from) / step)
    if (i < 0 || i >= times.length) continue
    let s = byKey.get(r.k)
    if (!s) {
      s = { key: r.k, label: r.k === '' ? '(none)' : r.k, values: new Array(times.length).fill(0), total: 0 }
      if (q.groupBy === 'category' || (q.groupBy === 'reason' && r.k !== OTHER)) s.category = r.c as Category
      byKey.set(r.k, s)
    }
    const n = num(r.n)
    s.values[i] += n
    s.total += n
    total += n
  }
  const series = [...byKey.values()]
  if (q.groupBy === 'category') {
    // a fixed order keeps colours and stacking stable between refreshes
    series.sort((a, b) => CATEGORIES.indexOf(a.key as Category) - CATEGORIES.indexOf(b.key as Category))
  } else {
    series.sort((a, b) =>
      a.key === OTHER ? 1 : b.key === OTHER ? -1 : b.total - a.total || a.key.localeCompare(b.key),
    )
  }
  return { series, total }
}

function toRatio(
  rows: { t: number; server: string; f: number; a: number }[],
  n: number,
  from: number,
  step: number,
  limit: number,
) {
  const overallF = new Array(n).fill(0)
  const overallA = new Array(n).fill(0)
  const per = new Map<string, { f: number[]; a: number[]; tf: number; ta: number }>()
  for (const r of rows) {
    const i = Math.round((num(r.t) - from) / step)
    if (i < 0 || i >= n) continue
    const f = num(r.f)
    const a = num(r.a)
    overallF[i] += f
    overallA[i] += a
    let s = per.get(r.server)
    if (!s) per.set(r.server, (s = { f: new Array(n).fill(0), a: new Array(n).fill(0), tf: 0, ta: 0 }))
    s.f[i] += f
    s.a[i] += a
    s.tf += f
    s.ta += a
  }
  const ratio = (f: number, a: number) => (a > 0 ? Math.min(1, f / a) : null)
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0)
  const servers = [...per.entries()]
    .filter(([, s]) => s.tf > 0)
    .sort((x, y) => y[1].tf - x[1].tf || x[0].localeCompare(y[0]))
    .slice(0, limit)
    .map(([server, s]) => ({
      server,
      values: s.f.map((f, i) => ratio(f, s.a[i])),
      failures: s.tf,
      attempts: s.ta,
      ratio: ratio(s.tf, s.ta),
    }))
  const tf = sum(overallF)
  const ta = sum(overallA)
  return {
    overall: {
      values: overallF.map((f, i) => ratio(f, overallA[i])),
      failures: tf,
      attempts: ta,
      ratio: ratio(tf, ta),
    },
    servers,
  }
}
