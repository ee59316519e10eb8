/**
 * The store's schema as documented for people writing SQL (`connrca sql`, POST /api/v1/sql).
 * SCHEMA.md is rendered from this module, and a test checks every column here against
 * system.columns, so the documentation cannot drift from the tables.
 */

export interface ColumnDoc {
  name: string
  type: string
  doc: string
}
export interface TableDoc {
  name: string
  doc: string
  columns: ColumnDoc[]
}
export interface ExampleQuery {
  title: string
  doc: string
  sql: string
}

const TOPS = 'Array(Tuple(value String, count UInt32))'

export const TABLES: TableDoc[] = [
  {
    name: 'connection_events',
    doc:
      'One row per connection-related log line (received, authorized, failed, closed). ReplacingMergeTree: a ' +
      're-delivered event collapses on merge; count with `uniqExact(id)` (or read with FINAL) for exact numbers. ' +
      'Rows expire `store.ttlDays` after ingestion.',
    columns: [
      { name: 'id', type: 'String', doc: 'stable id of the log record (hash of source and position)' },
      { name: 'server', type: 'LowCardinality(String)', doc: 'PostgreSQL server name' },
      { name: 'time', type: "DateTime64(3, 'UTC')", doc: 'event time from the log line' },
      { name: 'outcome', type: 'LowCardinality(String)', doc: 'received | authorized | failed | closed' },
      {
        name: 'category',
        type: 'LowCardinality(String)',
        doc: 'failure cause: firewall_deny, auth_fail, tls_reject, limit_reached, transient, user_error, network; empty unless failed',
      },
      { name: 'reason', type: 'LowCardinality(String)', doc: 'fine-grained cause, e.g. password_auth_failed' },
      { name: 'sqlstate', type: 'LowCardinality(String)', doc: 'SQLSTATE of the error, e.g. 28P01' },
      { name: 'user', type: 'String', doc: 'role name the client asked for' },
      { name: 'database', type: 'String', doc: 'database the client asked for' },
      { name: 'client_ip', type: 'String', doc: 'client address (IPv4 or IPv6 text); empty for local sockets' },
      { name: 'client_port', type: 'UInt16', doc: 'client port, 0 when unknown' },
      { name: 'application', type: 'String', doc: 'application_name, when logged' },
      { name: 'tls_protocol', type: 'LowCardinality(String)', doc: 'TLS version offered or negotiated, when known' },
      { name: 'pid', type: 'UInt32', doc: 'backend process id, 0 when unknown' },
      { name: 'message', type: 'String', doc: 'the log message' },
      { name: 'source_kind', type: 'LowCardinality(String)', doc: 'file, stdin, syslog, http, azure, generator' },
      { name: 'source_name', type: 'LowCardinality(String)', doc: 'file path or stream name the line came from' },
      { name: 'source_position', type: 'String', doc: 'offset / sequence / row key within the source' },
      { name: 'ingested_at', type: "DateTime('UTC')", doc: 'when connrca stored the row (drives the TTL)' },
    ],
  },
  {
    name: 'window_counts',
    doc:
      'Failures per server x category x event-time window. A late event re-emits its window with a higher ' +
      'revision; read with FINAL (or argMax(..., revision)) so no window is counted twice.',
    columns: [
      { name: 'server', type: 'LowCardinality(String)', doc: 'PostgreSQL server name' },
      { name: 'category', type: 'LowCardinality(String)', doc: 'failure category' },
      { name: 'window_start', type: "DateTime64(3, 'UTC')", doc: 'window start (inclusive)' },
      { name: 'window_end', type: "DateTime64(3, 'UTC')", doc: 'window end (exclusive)' },
      { name: 'failures', type: 'UInt32', doc: 'failed attempts of this category in the window' },
      {
        name: 'attempts',
        type: 'UInt32',
        doc: 'connections the server received in the window (all categories: take max() per server and window, not sum())',
      },
      { name: 'distinct_clients', type: 'UInt32', doc: 'distinct client addresses among the failures' },
      { name: 'first_failure', type: "DateTime64(3, 'UTC')", doc: 'first failure in the window' },
      { name: 'last_failure', type: "DateTime64(3, 'UTC')", doc: 'last failure in the window' },
      { name: 'reasons', type: TOPS, doc: 'reasons with counts, most frequent first' },
      { name: 'top_clients', type: TOPS, doc: 'client addresses with the most failures' },
      { name: 'top_users', type: TOPS, doc: 'roles with the most failures' },
      { name: 'top_databases', type: TOPS, doc: 'databases with the most failures' },
      { name: 'revision', type: 'UInt32', doc: '1 when first emitted, +1 per late update; the highest wins' },
      { name: 'ingested_at', type: "DateTime('UTC')", doc: 'when the row was stored' },
    ],
  },
  {
    name: 'rca_events',
    doc:
      'Incidents: a run of windows in which one server fails for one cause. Every revision is stored ' +
      '(open, updated, resolved); read with FINAL for the latest one per id.',
    columns: [
      { name: 'id', type: 'String', doc: 'deterministic: server, category and start window' },
      { name: 'revision', type: 'UInt32', doc: 'grows with every update of the incident' },
      { name: 'status', type: 'LowCardinality(String)', doc: 'open | updated | resolved' },
      { name: 'server', type: 'LowCardinality(String)', doc: 'PostgreSQL server name' },
      { name: 'category', type: 'LowCardinality(String)', doc: 'failure category' },
      { name: 'count', type: 'UInt32', doc: 'failed attempts in the incident so far' },
      { name: 'attempts', type: 'UInt32', doc: 'connections received during the incident' },
      { name: 'first_failure', type: "DateTime64(3, 'UTC')", doc: 'first failure of the incident' },
      { name: 'last_failure', type: "DateTime64(3, 'UTC')", doc: 'last failure so far' },
      {
        name: 'windows',
        type: "Array(Tuple(start DateTime64(3, 'UTC'), end DateTime64(3, 'UTC'), failures UInt32))",
        doc: 'failures per window of the incident',
      },
      { name: 'reasons', type: TOPS, doc: 'reasons with counts' },
      { name: 'top_clients', type: TOPS, doc: 'client addresses with the most failures' },
      { name: 'top_users', type: TOPS, doc: 'roles with the most failures' },
      { name: 'top_databases', type: TOPS, doc: 'databases with the most failures' },
      { name: 'sample_messages', type: 'Array(String)', doc: 'a few original log messages' },
      { name: 'persistence', type: 'LowCardinality(String)', doc: 'transient | persistent | recurring' },
      { name: 'severity', type: 'LowCardinality(String)', doc: 'info | warning | critical' },
      { name: 'title', type: 'String', doc: 'one-line summary' },
      { name: 'text', type: 'String', doc: 'the explanation, as sent in notifications' },
      { name: 'steps', type: 'Array(String)', doc: 'recommended steps' },
      {
        name: 'suggestion',
        type: 'String',
        doc: "JSON, e.g. the firewall rule that would admit the clients; '' when none",
      },
      {
        name: 'hypotheses',
        type: 'String',
        doc: "JSON array of the ranked diagnosis (id, title, text, score, evidence, steps), best first; '' when none",
      },
      { name: 'emitted_at', type: "DateTime64(3, 'UTC')", doc: 'event time (window end) that produced this revision' },
      { name: 'ingested_at', type: "DateTime('UTC')", doc: 'when the row was stored' },
    ],
  },
  {
    name: 'dead_letters',
    doc: 'Input a stage could not use, with the reason. Keyed by (stage, id): reprocessing does not duplicate.',
    columns: [
      { name: 'id', type: 'String', doc: 'id of the offending record' },
      { name: 'stage', type: 'LowCardinality(String)', doc: 'parse, classify, validate, window, store, notify' },
      { name: 'reason', type: 'String', doc: 'why it was rejected' },
      { name: 'raw', type: 'String', doc: 'the input, truncated to 64 KiB' },
      { name: 'server', type: 'LowCardinality(String)', doc: 'server, when known' },
      { name: 'source_kind', type: 'LowCardinality(String)', doc: 'kind of source' },
      { name: 'source_name', type: 'String', doc: 'file or stream name' },
      { name: 'source_position', type: 'String', doc: 'position within the source' },
      { name: 'time', type: "DateTime64(3, 'UTC')", doc: 'processing time' },
      { name: 'ingested_at', type: "DateTime('UTC')", doc: 'when the row was stored' },
    ],
  },
  {
    name: 'checkpoints',
    doc: 'Small named state such as source positions; the row with the latest `updated` wins.',
    columns: [
      { name: 'name', type: 'String', doc: 'checkpoint key, e.g. a source' },
      { name: 'value', type: 'String', doc: 'position or state' },
      { name: 'updated', type: "DateTime64(6, 'UTC')", doc: 'when it was written' },
    ],
  },
]

export const EXAMPLES: ExampleQuery[] = [
  {
    title: 'Failure ratio per server (last 24 hours)',
    doc: 'Failed attempts over received connections, from the raw events (needs log_connections = on).',
    sql: `SELECT server,
       uniqExactIf(id, outcome = 'failed')   AS failures,
       uniqExactIf(id, outcome = 'received') AS attempts,
       round(failures / nullIf(attempts, 0), 4) AS failure_ratio
FROM connection_events
WHERE time >= now() - INTERVAL 1 DAY
GROUP BY server
ORDER BY failure_ratio DESC`,
  },
  {
    title: 'Top denied client ranges (/24, last 7 days)',
    doc: 'Clients refused by firewall rules, grouped into IPv4 /24 ranges: candidates for a firewall rule.',
    sql: `SELECT server,
       IPv4NumToString(bitAnd(toIPv4OrZero(client_ip), 0xFFFFFF00)) || '/24' AS client_range,
       uniqExact(id)        AS denied,
       uniqExact(client_ip) AS clients,
       min(time) AS first_seen,
       max(time) AS last_seen
FROM connection_events
WHERE outcome = 'failed' AND category = 'firewall_deny'
  AND time >= now() - INTERVAL 7 DAY AND isIPv4String(client_ip)
GROUP BY server, client_range
ORDER BY denied DESC
LIMIT 20`,
  },
  {
    title: 'Incidents per day',
    doc: 'Incidents by the day they started, per category, with their failed attempts (latest revision each).',
    sql: `SELECT toDate(first_failure) AS day,
       category,
       count()    AS incidents,
       sum(count) AS failed_attempts,
       countIf(persistence = 'persistent') AS persistent
FROM rca_events FINAL
WHERE first_failure >= now() - INTERVAL 30 DAY
GROUP BY day, category
ORDER BY day DESC, incidents DESC`,
  },
]

const cell = (s: string) => s.replace(/\|/g, '\\|')

export function renderSchemaMarkdown(): string {
  const out: string[] = [
    '# connrca store schema',
    '',
    '<!-- generated from services/api/src/schema-doc.ts; a test keeps it in sync -->',
    '',
    'For ad-hoc SQL with `connrca sql "<query>"` or `POST /api/v1/sql` (read-only: SELECT, WITH, SHOW,',
    'DESCRIBE, EXPLAIN; row and time limits apply). Tables live in the `connrca` database (store.database).',
    'Times are UTC. Tables are ReplacingMergeTree: duplicates from at-least-once delivery disappear on',
    'merge, so read with `FINAL` or count with `uniqExact(id)` for exact numbers.',
    '',
  ]
  for (const t of TABLES) {
    out.push(`## ${t.name}`, '', t.doc, '', '| column | type | meaning |', '|---|---|---|')
    for (const c of t.columns) out.push(`| \`${c.name}\` | \`${cell(c.type)}\` | ${cell(c.doc)} |`)
    out.push('')
  }
  out.push('## Example queries', '')
  for (const e of EXAMPLES) out.push(`### ${e.title}`, '', e.doc, '', '```sql', e.sql, '```', '')
  return out.join('\n')
}
