/**
 * Contract objects -> JSONCompactEachRow lines (one array per row, columns in the order listed
 * here). One JSON.stringify of a flat array per row: measured ~1.5M rows/s, about twice a
 * template string with per-field stringify and faster than stringifying an object with keys. Times stay epoch-ms integers; ClickHouse reads an integer
 * into DateTime64(3) as milliseconds, so nothing is formatted on the JS side.
 */
import type { ConnectionEvent, DeadLetter, RcaEvent, TopEntry, WindowCount } from '@connrca/contracts'

export interface TableSpec<T> {
  table: string
  columns: readonly string[]
  encode: (row: T) => string
}

const s = JSON.stringify
const ms = (v: number) => (Number.isFinite(v) ? Math.round(v) : 0)
const uint = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v > 0 ? Math.round(v) : 0)

// named tuples are read from JSON objects (input_format_json_named_tuples_as_objects)
const tops = (entries: readonly TopEntry[]) => entries.map((e) => ({ value: e.value, count: uint(e.count) }))

export const connectionEvents: TableSpec<ConnectionEvent> = {
  table: 'connection_events',
  columns: [
    'id',
    'server',
    'time',
    'outcome',
    'category',
    'reason',
    'sqlstate',
    'user',
    'database',
    'client_ip',
    'client_port',
    'application',
    'tls_protocol',
    'pid',
    'message',
    'source_kind',
    'source_name',
    'source_position',
  ],
  encode: (e) => {
    const src = e.source
    return s([
      e.id,
      e.server,
      ms(e.time),
      e.outcome,
      e.category ?? '',
      e.reason ?? '',
      e.sqlstate ?? '',
      e.user ?? '',
      e.database ?? '',
      e.clientIp ?? '',
      uint(e.clientPort),
      e.application ?? '',
      e.tlsProtocol ?? '',
      uint(e.pid),
      e.message,
      src ? src.kind : '',
      src ? src.name : '',
      src ? String(src.position) : '',
    ])
  },
}

export const windowCounts: TableSpec<WindowCount> = {
  table: 'window_counts',
  columns: [
    'server',
    'category',
    'window_start',
    'window_end',
    'failures',
    'attempts',
    'distinct_clients',
    'first_failure',
    'last_failure',
    'reasons',
    'top_clients',
    'top_users',
    'top_databases',
    'revision',
  ],
  encode: (w) =>
    s([
      w.server,
      w.category,
      ms(w.windowStart),
      ms(w.windowEnd),
      uint(w.failures),
      uint(w.attempts),
      uint(w.distinctClients),
      ms(w.firstFailure),
      ms(w.lastFailure),
      tops(w.reasons),
      tops(w.topClients),
      tops(w.topUsers),
      tops(w.topDatabases),
      uint(w.revision),
    ]),
}

export const rcaEvents: TableSpec<RcaEvent> = {
  table: 'rca_events',
  columns: [
    'id',
    'revision',
    'status',
    'server',
    'category',
    'count',
    'attempts',
    'first_failure',
    'last_failure',
    'windows',
    'reasons',
    'top_clients',
    'top_users',
    'top_databases',
    'sample_messages',
    'persistence',
    'severity',
    'title',
    'text',
    'steps',
    'suggestion',
    'hypotheses',
    'emitted_at',
  ],
  encode: (r) =>
    s([
      r.id,
      uint(r.revision),
      r.status,
      r.server,
      r.category,
      uint(r.count),
      uint(r.attempts),
      ms(r.firstFailure),
      ms(r.lastFailure),
      r.windows.map((w) => ({ start: ms(w.start), end: ms(w.end), failures: uint(w.failures) })),
      tops(r.reasons),
      tops(r.topClients),
      tops(r.topUsers),
      tops(r.topDatabases),
      r.sampleMessages,
      r.persistence,
      r.severity,
      r.title,
      r.text,
      r.steps,
      r.suggestion ? s(r.suggestion) : '',
      r.hypotheses?.length ? s(r.hypotheses) : '',
      ms(r.emittedAt),
    ]),
}

export const deadLetters: TableSpec<DeadLetter> = {
  table: 'dead_letters',
  columns: ['id', 'stage', 'reason', 'raw', 'server', 'source_kind', 'source_name', 'source_position', 'time'],
  encode: (d) => {
    const src = d.source
    return s([
      d.id,
      d.stage,
      d.reason,
      d.raw,
      d.server ?? '',
      src ? src.kind : '',
      src ? src.name : '',
      src ? String(src.position) : '',
      ms(d.time),
    ])
  },
}

/** Joins encoded rows into one newline-terminated payload. */
export function encodeRows<T>(spec: TableSpec<T>, rows: readonly T[]): string {
  const parts = new Array<string>(rows.length)
  for (let i = 0; i < rows.length; i++) parts[i] = spec.encode(rows[i])
  parts.push('')
  return parts.join('\n')
}
