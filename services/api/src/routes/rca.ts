import {
  type Hypothesis,
  RcaDetailResponse,
  type RcaEvent,
  RcaIdParams,
  RcaListQuery,
  RcaListResponse,
  type RcaSummary,
  type Suggestion,
  type TopEntry,
  type WindowCount,
} from '@connrca/contracts'
import type { Deps } from '../deps.js'
import { HttpError } from '../http.js'
import { route } from '../router.js'
import { FROM_MS, filterSql, ms, num, TO_MS } from '../sql-fragments.js'
import { resolveRange } from '../time.js'

const SUMMARY_COLUMNS = `id, revision, status, server, category, count, attempts,
  ${ms('first_failure')} AS firstFailure, ${ms('last_failure')} AS lastFailure,
  persistence, severity, title, text, steps, suggestion, hypotheses, ${ms('emitted_at')} AS emittedAt`

/** Tuples of DateTime64 become [startMs, endMs, failures] so JSON carries numbers. */
const DETAIL_COLUMNS = `${SUMMARY_COLUMNS},
  arrayMap(w -> (${ms('w.1')}, ${ms('w.2')}, w.3), windows) AS windows,
  reasons, top_clients AS topClients, top_users AS topUsers, top_databases AS topDatabases,
  sample_messages AS sampleMessages`

type SummaryRow = Omit<RcaSummary, 'suggestion' | 'hypotheses'> & { suggestion: string; hypotheses: string }
type DetailRow = SummaryRow & {
  windows: [number, number, number][]
  reasons: TopEntry[]
  topClients: TopEntry[]
  topUsers: TopEntry[]
  topDatabases: TopEntry[]
  sampleMessages: string[]
}

/** Filters beyond server/category, each a fixed column bound to a parameter. */
function listFilters(q: RcaListQuery, params: Record<string, unknown>): string {
  let sql = filterSql(q, params)
  for (const col of ['status', 'persistence', 'severity'] as const) {
    const v = q[col]
    if (v?.length) {
      sql += ` AND ${col} IN {${col}:Array(String)}`
      params[col] = v
    }
  }
  return sql
}

/** JSON text columns ('' when none); a row that does not parse is shown without the field. */
function parseJson<T>(s: string): T | undefined {
  if (!s) return undefined
  try {
    return JSON.parse(s) as T
  } catch {
    return undefined
  }
}

function toSummary(r: SummaryRow): RcaSummary {
  const out: RcaSummary = {
    id: r.id,
    revision: num(r.revision),
    status: r.status,
    server: r.server,
    category: r.category,
    count: num(r.count),
    attempts: num(r.attempts),
    firstFailure: num(r.firstFailure),
    lastFailure: num(r.lastFailure),
    persistence: r.persistence,
    severity: r.severity,
    title: r.title,
    text: r.text,
    steps: r.steps,
    emittedAt: num(r.emittedAt),
  }
  const suggestion = parseJson<Suggestion>(r.suggestion)
  if (suggestion) out.suggestion = suggestion
  const hypotheses = parseJson<Hypothesis[]>(r.hypotheses)
  if (hypotheses?.length) out.hypotheses = hypotheses
  return out
}

const topEntries = (xs: TopEntry[]) => xs.map((e) => ({ value: e.value, count: num(e.count) }))

export function rcaRoutes(deps: Deps) {
  return [
    route({
      method: 'GET',
      path: '/api/v1/rca',
      tag: 'rca',
      summary: 'RCA events (incidents), newest first',
      description:
        'The latest revision of each incident whose failures overlap the range, filtered by server, category, ' +
        'status, persistence and severity.',
      query: RcaListQuery,
      response: RcaListResponse,
      async handler({ query, now }) {
        const range = resolveRange(query, now, deps.maxRangeMs)
        const params: Record<string, unknown> = {
          from: range.from,
          to: range.to,
          limit: query.limit,
          offset: query.offset,
        }
        const where = `last_failure >= ${FROM_MS} AND first_failure < ${TO_MS}${listFilters(query, params)}`
        const [rows, count] = await Promise.all([
          deps.query<SummaryRow>(
            `SELECT ${SUMMARY_COLUMNS} FROM rca_events FINAL WHERE ${where}
             ORDER BY last_failure DESC, id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
            params,
          ),
          deps.query<{ n: number }>(`SELECT toFloat64(count()) AS n FROM rca_events FINAL WHERE ${where}`, params),
        ])
        return { ...range, events: rows.map(toSummary), total: num(count[0]?.n ?? 0) }
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/rca/:id',
      tag: 'rca',
      summary: 'One RCA event with its windows, evidence and revision history',
      params: RcaIdParams,
      response: RcaDetailResponse,
      async handler({ params: { id } }) {
        const rows = await deps.query<DetailRow>(
          `SELECT ${DETAIL_COLUMNS} FROM rca_events FINAL WHERE id = {id:String} LIMIT 1`,
          { id },
        )
        const r = rows[0]
        if (!r) throw new HttpError(404, 'not_found', `no RCA event with id ${JSON.stringify(id)}`)
        const event: RcaEvent = {
          schema: 'connrca.rca.v1',
          ...toSummary(r),
          windows: r.windows.map(([start, end, failures]) => ({
            start: num(start),
            end: num(end),
            failures: num(failures),
          })),
          reasons: topEntries(r.reasons),
          topClients: topEntries(r.topClients),
          topUsers: topEntries(r.topUsers),
          topDatabases: topEntries(r.topDatabases),
          sampleMessages: r.sampleMessages,
        }
        const [windowCounts, revisions] = await Promise.all([
          incidentWindows(deps, event),
          deps.query<{ revision: number; status: string; count: number; emittedAt: number }>(
            `SELECT revision, any(status) AS status, any(count) AS count, ${ms('any(emitted_at)')} AS emittedAt
             FROM rca_events WHERE id = {id:String} GROUP BY revision ORDER BY revision LIMIT 1000`,
            { id },
          ),
        ])
        return {
          event,
          windowCounts,
          revisions: revisions.map((v) => ({
            revision: num(v.revision),
            status: v.status as RcaEvent['status'],
            count: num(v.count),
            emittedAt: num(v.emittedAt),
          })),
        }
      },
    }),
  ]
}

async function incidentWindows(deps: Deps, e: RcaEvent): Promise<WindowCount[]> {
  const rows = await deps.query<WindowCount>(
    `SELECT server, category, ${ms('window_start')} AS windowStart, ${ms('window_end')} AS windowEnd,
            failures, attempts, distinct_clients AS distinctClients,
            ${ms('first_failure')} AS firstFailure, ${ms('last_failure')} AS lastFailure,
            reasons, top_clients AS topClients, top_users AS topUsers, top_databases AS topDatabases, revision
     FROM window_counts FINAL
     WHERE server = {server:String} AND category = {category:String}
       AND window_end > fromUnixTimestamp64Milli({from:Int64}) AND window_start <= fromUnixTimestamp64Milli({to:Int64})
     ORDER BY window_start LIMIT 5000`,
    { server: e.server, category: e.category, from: e.firstFailure, to: e.lastFailure },
  )
  return rows.map((r) => ({
    server: r.server,
    category: r.category,
    windowStart: num(r.windowStart),
    windowEnd: num(r.windowEnd),
    failures: num(r.failures),
    attempts: num(r.attempts),
    distinctClients: num(r.distinctClients),
    firstFailure: num(r.firstFailure),
    lastFailure: num(r.lastFailure),
    reasons: topEntries(r.reasons),
    topClients: topEntries(r.topClients),
    topUsers: topEntries(r.topUsers),
    topDatabases: topEntries(r.topDatabases),
    revision: num(r.revision),
  }))
}
