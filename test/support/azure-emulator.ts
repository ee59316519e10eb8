import { randomUUID } from 'node:crypto'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { makeTestCert, type TestCert } from './tls-cert.js'

/**
 * A Log Analytics query API stand-in for tests: HTTPS on 127.0.0.1, `POST [/v1]/workspaces/{id}/query`
 * with a bearer token. It answers the way the real service does, each shape with its source:
 *
 *  - success: `{tables: [{name: 'PrimaryResult', columns: [{name, type}], rows}]}`
 *    (learn.microsoft.com/azure/azure-monitor/logs/api/response-format; grafana
 *    pkg/tsdb/azuremonitor/testdata/loganalytics/11-log-analytics-response-empty.json)
 *  - a missing table: 400 whose top-level message is the generic "The request had some invalid
 *    properties" (learn.microsoft.com/azure/azure-monitor/logs/api/errors, "Query syntax error");
 *    the SEM0100 "'where' operator: Failed to resolve table or column expression named …" text is
 *    nested in `innererror.innererror` under a SemanticError (MicrosoftDocs/feedback#1792 for the
 *    nesting; Azure/Azure-Sentinel#2138, Cj-Scott/Get-AppRegistrationExpiration#4 for the wording). With
 *    `missingTableShape: 'json-text'` it answers the other public shape: a SyntaxError whose
 *    `innererror.information.details` holds the SEM0100 error as JSON text
 *    (Azure/azure-quickstart-templates#5174).
 *  - a result over the limits: 200 with the rows that fit and `error: {code: 'PartialError',
 *    details: [{code: 'EngineError', message: 'Something went wrong processing your query on the
 *    server.', innererror: {message: <the limit>}}]}`; the limit text is only in
 *    `details[].innererror` (grafana testdata/loganalytics/9-log-analytics-response-error.json:
 *    "The results of this query exceed the set limit of N records."; Azure/azure-sdk-for-python#25137).
 *    The row limit is 500,000 and the size limit ~64 MB, over which the rest is trimmed with that
 *    warning too (learn.microsoft.com/azure/azure-monitor/service-limits, "Log queries API";
 *    equinor/radix-log-api#30); the size text is Kusto's "Query result set has exceeded the
 *    internal data size limit 67108864 (E_QUERY_RESULT_SET_TOO_LARGE)", a partial query failure
 *    (learn.microsoft.com/kusto/concepts/query-limits, which applies to Azure Monitor). Other
 *    partial results (a shard) use the same shape (grafana
 *    testdata/loganalytics/10-log-analytics-response-warning.json).
 *  - a workspace that has no data at all: 204 with an empty body (learn.microsoft.com/azure/
 *    azure-monitor/logs/api/errors, "No data in workspace"; the SDK expects only 200)
 *  - no Authorization header: 401 AuthenticationFailed; a bad token: 403 InvalidAuthenticationToken;
 *    a token for another audience: 403 InvalidAuthenticationTokenAudience; a principal without
 *    read access: 403 InsufficientAccessError (learn.microsoft.com/azure/azure-monitor/logs/api/errors,
 *    "Invalid authentication token", "Invalid token audience", "Insufficient permissions")
 *  - an unknown path: 404 PathNotFoundError (same page); an unknown workspace id: 404 too (the body
 *    is not documented; WorkspaceNotFoundError here)
 *  - a query over the server timeout (`Prefer: wait=N`, default 180 s): 504 Gateway Timeout
 *    (learn.microsoft.com/azure/azure-monitor/logs/api/timeouts; the body is not documented)
 *  - throttling: 429 with `Retry-After: <delta-seconds>`; under high load or maintenance 503,
 *    sometimes with Retry-After (learn.microsoft.com/azure/azure-monitor/logs/api/rate-limits;
 *    the bodies are not documented)
 *  - the `timespan` body parameter bounds TimeGenerated, in addition to the query's own filters
 *    (learn.microsoft.com/rest/api/loganalytics/dataaccess/query/execute: "applied in addition to
 *    any that are specified in the query expression")
 *  - rows become visible only once ingested: each row has an ingestion time (`ingestion_time()`),
 *    by default 3 minutes after TimeGenerated, and is hidden before `now()`
 *    (learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time)
 *  - AzureDiagnostics holds at most 500 columns; once full, further fields land in the dynamic
 *    `AdditionalFields` column as properties named without the column's type suffix (a field that
 *    would be the column `NewInfo1_s` is `{"NewInfo1": …}` there), and dynamic values travel as
 *    JSON text (learn.microsoft.com/azure/azure-monitor/reference/tables/azurediagnostics,
 *    "AdditionalFields column"; grafana testdata/loganalytics/7-log-analytics-all-types-table.json)
 *  - PGSQLServerLogs rows: Message, ErrorLevel, SqlErrorCode, ProcessId, Detail, DetailLog, Hint,
 *    Context, LogicalServerName, Location, … and no Category or Prefix
 *    (learn.microsoft.com/azure/azure-monitor/reference/tables/pgsqlserverlogs)
 *
 * It understands just the KQL the collector sends: table, TimeGenerated or ingestion_time() range,
 * Category filter, `has_any`, `project … column_ifexists / ingestion_time()`, `take`.
 */

export type Row = Record<string, string | number | null>

/** The shape of @azure/core-auth's TokenCredential (test/support does not depend on the SDK). */
export interface TestCredential {
  getToken(scopes: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }>
  /** The scopes asked for, one entry per getToken call. */
  scopes: string[][]
}

export type Fault =
  | { status: 429; retryAfter?: string }
  | { status: 500 | 502 | 503 | 504; retryAfter?: string }
  | { partial: 'shard' }
  /** Holds the answer this long (a slow query; the client's Ctrl-C must not wait for it). */
  | { delayMs: number }

export interface EmulatorOptions {
  workspaceId?: string
  /** The secret part of a valid token (see `tokenFor`). */
  secret?: string
  /** The audience the service accepts tokens for (public cloud: https://api.loganalytics.io). */
  audience?: string
  /** Rows per response above which the answer is cut and flagged as a partial result (the service's 500,000). */
  resultLimit?: number
  /** Bytes per response above which the answer is cut (the service's ~64 MB). */
  resultBytesLimit?: number
}

/** How a 400 for a missing table carries the SEM0100 (see the header comment). */
export type MissingTableShape = 'nested' | 'json-text'

export interface AzureEmulator {
  url: string
  cert: TestCert
  workspaceId: string
  secret: string
  audience: string
  /** The token the service accepts: `<audience>|<secret>` (a stand-in for a JWT's `aud` claim and signature). */
  token: string
  /** A TokenCredential that hands out `<scope without /.default>|<secret>` and records the scopes asked for. */
  credential: TestCredential
  tables: Map<string, Row[]>
  /** Served in order, one per request, before normal answers. */
  faults: Fault[]
  requests: Array<{ query: string; timespan?: string; at: number; status: number }>
  maxConcurrent: number
  resultLimit: number
  resultBytesLimit: number
  /** False: the principal lacks Log Analytics Reader (403 InsufficientAccessError). */
  reader: boolean
  /** The service's clock: rows ingested after it are not visible yet. */
  now: () => number
  /** AzureDiagnostics columns that did not fit into the 500: their values land in AdditionalFields. */
  overflowColumns: Set<string>
  missingTableShape: MissingTableShape
  add(table: string, ...rows: Row[]): void
  close(): Promise<void>
}

/** Hidden per-row ingestion time; read by `ingestion_time()`, never projected as such. */
export const INGESTED = '$ingested'

const COLUMN_TYPES: Record<string, string> = {
  TimeGenerated: 'datetime',
  IngestionTime: 'datetime',
  processId_d: 'real',
  ProcessId: 'int',
  AdditionalFields: 'dynamic',
}

export async function startAzureEmulator(opts: EmulatorOptions = {}): Promise<AzureEmulator> {
  const cert = makeTestCert()
  const secret = opts.secret ?? 'test-token'
  const audience = opts.audience ?? 'https://api.loganalytics.io'
  const scopes: string[][] = []
  const emu: AzureEmulator = {
    url: '',
    cert,
    workspaceId: opts.workspaceId ?? randomUUID(),
    secret,
    audience,
    token: `${audience}|${secret}`,
    credential: Object.assign(
      {
        getToken: async (s: string | string[]) => {
          const list = Array.isArray(s) ? s : [s]
          scopes.push(list)
          return {
            token: `${list[0].replace(/\/\.default$/, '')}|${secret}`,
            expiresOnTimestamp: Date.now() + 3_600_000,
          }
        },
      },
      { scopes },
    ),
    tables: new Map(),
    faults: [],
    requests: [],
    maxConcurrent: 0,
    resultLimit: opts.resultLimit ?? 500_000,
    resultBytesLimit: opts.resultBytesLimit ?? 64 * 1024 * 1024,
    reader: true,
    now: Date.now,
    overflowColumns: new Set(),
    missingTableShape: 'nested',
    add(table, ...rows) {
      const list = this.tables.get(table) ?? []
      for (const r of rows) {
        if (r[INGESTED] === undefined)
          r[INGESTED] = new Date(Date.parse(String(r.TimeGenerated)) + 3 * 60_000).toISOString()
      }
      list.push(...rows)
      this.tables.set(table, list)
    },
    close: async () => {},
  }
  let inFlight = 0
  const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      inFlight++
      emu.maxConcurrent = Math.max(emu.maxConcurrent, inFlight)
      const { status, body, headers, delayMs } = answer(emu, req.method ?? '', req.url ?? '', req.headers, chunks)
      // A little latency so overlapping pulls would be visible.
      setTimeout(() => {
        inFlight--
        if (res.destroyed) return
        res.writeHead(
          status,
          body === undefined ? { ...headers } : { 'content-type': 'application/json; charset=utf-8', ...headers },
        )
        res.end(body === undefined ? undefined : JSON.stringify(body))
      }, delayMs ?? 15)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  emu.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  emu.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return emu
}

interface Answer {
  status: number
  body?: unknown
  headers?: Record<string, string>
  delayMs?: number
}

function answer(
  emu: AzureEmulator,
  method: string,
  url: string,
  reqHeaders: Record<string, string | string[] | undefined>,
  chunks: Buffer[],
): Answer {
  const m = /^(?:\/v1)?\/workspaces\/([^/]+)\/query$/.exec(url.split('?')[0])
  let parsed: { query?: string; timespan?: string } = {}
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {}
  const log = (status: number) =>
    emu.requests.push({ query: parsed.query ?? '', timespan: parsed.timespan, at: Date.now(), status })
  if (method !== 'POST' || !m) {
    log(404)
    return { status: 404, body: error('PathNotFoundError', `The requested path does not exist: ${url}`) }
  }
  const auth = reqHeaders.authorization
  if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) {
    log(401)
    return {
      status: 401,
      body: error('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."),
    }
  }
  const [aud, sec] = auth.slice('Bearer '.length).split('|')
  if (sec !== emu.secret) {
    log(403)
    return { status: 403, body: error('InvalidAuthenticationToken', 'The access token is invalid.') }
  }
  if (aud !== emu.audience) {
    log(403)
    return {
      status: 403,
      body: error(
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained from wrong audience or resource '${aud}'. It should exactly match (including forward slash) with one of the allowed audiences '${emu.audience}','${emu.audience}/'.`,
      ),
    }
  }
  if (!emu.reader) {
    log(403)
    return {
      status: 403,
      body: error(
        'InsufficientAccessError',
        'The provided credentials have insufficient access to perform the requested operation',
      ),
    }
  }
  if (m[1] !== emu.workspaceId) {
    log(404)
    return { status: 404, body: error('WorkspaceNotFoundError', `Workspace ${m[1]} not found`) }
  }
  const fault = emu.faults.shift()
  if (fault && 'status' in fault) {
    log(fault.status)
    if (fault.status === 429)
      return {
        status: 429,
        body: error('ThrottledError', 'Your request was throttled; too many requests'),
        headers: fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
      }
    if (fault.status === 504)
      return { status: 504, body: error('GatewayTimeout', 'The query did not complete within the server timeout') }
    return {
      status: fault.status,
      body: error('ServiceUnavailable', 'The service is temporarily unavailable'),
      headers: fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
    }
  }
  if (emu.tables.size === 0) {
    log(204)
    return { status: 204 }
  }
  const q = parseKql(parsed.query ?? '')
  const rows = emu.tables.get(q.table)
  if (!rows) {
    log(400)
    const text = `'where' operator: Failed to resolve table or column expression named '${q.table}'`
    const inner =
      emu.missingTableShape === 'json-text'
        ? {
            code: 'SyntaxError',
            message: 'Syntax Error',
            information: {
              details: JSON.stringify({
                error: {
                  code: 'Bad request',
                  message: 'Request is invalid and cannot be executed.',
                  innererror: { code: 'SEM0100', message: text, '@errorCode': 'SEM0100', '@errorMessage': text },
                },
              }),
            },
          }
        : {
            code: 'SemanticError',
            message: 'A semantic error occurred.',
            innererror: { code: 'SEM0100', message: text },
          }
    return {
      status: 400,
      body: {
        error: {
          message: 'The request had some invalid properties',
          code: 'BadArgumentError',
          correlationId: randomUUID(),
          innererror: inner,
        },
      },
    }
  }
  const span = parseTimespan(parsed.timespan)
  const now = emu.now()
  let selected = rows.filter((r) => {
    const t = Date.parse(String(r.TimeGenerated))
    const ingested = Date.parse(String(r[INGESTED]))
    if (ingested > now) return false
    if (span && (t < span[0] || t >= span[1])) return false
    if (q.from !== undefined && t < q.from) return false
    if (q.to !== undefined && t >= q.to) return false
    if (q.ingestedFrom !== undefined && ingested < q.ingestedFrom) return false
    if (q.ingestedTo !== undefined && ingested >= q.ingestedTo) return false
    if (q.category !== undefined && r.Category !== q.category) return false
    if (q.hasAny && !q.hasAny.some((term) => hasTerm(String(r.Message ?? ''), term))) return false
    return true
  })
  selected.sort((a, b) => Date.parse(String(a.TimeGenerated)) - Date.parse(String(b.TimeGenerated)))
  if (q.take !== undefined) selected = selected.slice(0, q.take)
  const overflow = q.table === 'AzureDiagnostics' ? emu.overflowColumns : new Set<string>()
  const columns = q.columns.map(([name]) => ({ name, type: COLUMN_TYPES[name] ?? 'string' }))
  const cell = (r: Row, [name, source]: [string, string]): unknown => {
    if (source === 'ingestion_time()') return r[INGESTED]
    if (name === 'AdditionalFields') {
      const extra: Record<string, unknown> = {}
      for (const c of overflow) if (r[c] !== undefined) extra[c.replace(/_[a-z]$/, '')] = r[c]
      return JSON.stringify(extra)
    }
    if (overflow.has(source)) return COLUMN_TYPES[name] ? null : ''
    return r[source] ?? (COLUMN_TYPES[name] && name !== 'TimeGenerated' ? null : '')
  }
  const table = (list: Row[]) => ({
    name: 'PrimaryResult',
    columns,
    rows: list.map((r) => q.columns.map((c) => cell(r, c))),
  })
  const partial = (list: Row[], inner: string) => ({
    status: 200,
    body: {
      tables: [table(list)],
      error: {
        code: 'PartialError',
        message: 'There were some errors when processing your query.',
        details: [
          {
            code: 'EngineError',
            message: 'Something went wrong processing your query on the server.',
            innererror: { code: '-2133196797', message: inner, severity: 2, severityName: 'Error' },
          },
        ],
      },
    },
  })
  if (fault && 'partial' in fault) {
    log(200)
    return partial(
      selected.slice(0, Math.floor(selected.length / 2)),
      'Query execution has been interrupted: some shards could not be reached.',
    )
  }
  if (selected.length > emu.resultLimit) {
    log(200)
    return partial(
      selected.slice(0, emu.resultLimit),
      `The results of this query exceed the set limit of ${emu.resultLimit} records.`,
    )
  }
  let bytes = 0
  let fit = 0
  for (const r of selected) {
    bytes += JSON.stringify(q.columns.map((c) => cell(r, c))).length
    if (bytes > emu.resultBytesLimit) break
    fit++
  }
  if (fit < selected.length) {
    log(200)
    return partial(
      selected.slice(0, fit),
      `Query result set has exceeded the internal data size limit ${emu.resultBytesLimit} (E_QUERY_RESULT_SET_TOO_LARGE).`,
    )
  }
  log(200)
  return {
    status: 200,
    body: { tables: [table(selected)] },
    delayMs: fault && 'delayMs' in fault ? fault.delayMs : undefined,
  }
}

function error(code: string, message: string) {
  return { error: { code, message } }
}

/** ISO 8601 interval `start/end` as the SDK sends it. */
function parseTimespan(span: string | undefined): [number, number] | undefined {
  if (!span) return undefined
  const [a, b] = span.split('/')
  const from = Date.parse(a)
  const to = Date.parse(b)
  return Number.isNaN(from) || Number.isNaN(to) ? undefined : [from, to]
}

interface Kql {
  table: string
  from?: number
  to?: number
  ingestedFrom?: number
  ingestedTo?: number
  category?: string
  hasAny?: string[]
  /** [output name, source column or `ingestion_time()`] */
  columns: Array<[string, string]>
  take?: number
}

function parseKql(query: string): Kql {
  const lines = query.split('\n').map((l) => l.trim())
  const q: Kql = { table: lines[0] ?? '', columns: [] }
  for (const l of lines.slice(1)) {
    const range = /TimeGenerated >= datetime\(([^)]+)\) and TimeGenerated < datetime\(([^)]+)\)/.exec(l)
    if (range) {
      q.from = Date.parse(range[1])
      q.to = Date.parse(range[2])
    }
    const ing = /ingestion_time\(\) >= datetime\(([^)]+)\) and ingestion_time\(\) < datetime\(([^)]+)\)/.exec(l)
    if (ing) {
      q.ingestedFrom = Date.parse(ing[1])
      q.ingestedTo = Date.parse(ing[2])
    }
    const cat = /Category == "([^"]+)"/.exec(l)
    if (cat) q.category = cat[1]
    const has = /has_any \((.*)\)$/.exec(l)
    if (has) q.hasAny = JSON.parse(`[${has[1]}]`)
    if (l.startsWith('| project ')) {
      q.columns = splitTop(l.slice('| project '.length)).map((c) => {
        const [name, expr] = c.split(/=(.*)/s).map((s) => s?.trim())
        if (!expr) return [name, name]
        const ifexists = /^column_ifexists\("([^"]+)"/.exec(expr)
        return [name, ifexists ? ifexists[1] : expr]
      })
    }
    const take = /^\| take (\d+)$/.exec(l)
    if (take) q.take = Number(take[1])
  }
  return q
}

/** Splits on commas outside parentheses and quotes. */
function splitTop(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let quote = false
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === '"') quote = !quote
    else if (!quote && c === '(') depth++
    else if (!quote && c === ')') depth--
    else if (!quote && depth === 0 && c === ',') {
      out.push(s.slice(start, i))
      start = i + 1
    }
  }
  out.push(s.slice(start))
  return out
}

/**
 * KQL `has`: the term occurs as a whole term (case-insensitive). Kusto's index splits text into
 * runs of ASCII letters and digits (learn.microsoft.com/kusto/query/datatypes-string-operators),
 * so a term containing punctuation (`pg_hba.conf`) matches as a phrase of such runs.
 */
export function hasTerm(text: string, term: string): boolean {
  const escaped = term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^A-Za-z0-9])${escaped}($|[^A-Za-z0-9])`, 'i').test(text)
}

/** An AzureDiagnostics row as Azure Database for PostgreSQL (Single / Flexible) writes it. */
export function diagnosticsRow(p: {
  time: number
  server: string
  message: string
  level?: string
  sqlstate?: string
  pid?: number
  flavour?: 'single' | 'flexible'
  detail?: string
  /** Default: 3 minutes after `time`. */
  ingested?: number
}): Row {
  const sub = '8f3a2c1e-5b7d-4e2a-9c1f-0a1b2c3d4e5f'
  const rg = 'rg-data'
  const provider = p.flavour === 'flexible' ? 'FLEXIBLESERVERS' : 'SERVERS'
  const level = p.level ?? 'LOG'
  const pid = p.pid ?? 4120
  const ts = new Date(p.time)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
  return {
    TenantId: 'b1e2c3d4-0000-4000-8000-123456789abc',
    TimeGenerated: new Date(p.time).toISOString(),
    ResourceId: `/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/${rg.toUpperCase()}/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/${provider}/${p.server.toUpperCase()}`,
    Category: 'PostgreSQLLogs',
    ResourceGroup: rg.toUpperCase(),
    SubscriptionId: sub,
    ResourceProvider: 'MICROSOFT.DBFORPOSTGRESQL',
    Resource: p.server.toUpperCase(),
    ResourceType: provider,
    OperationName: 'LogEvent',
    LogicalServerName_s: p.server,
    // Single Server's default log_line_prefix is '%t-%c-'.
    Message: `${ts}-6632a1f0.${pid.toString(16)}-${level}:  ${p.message}`,
    errorLevel_s: level,
    sqlerrcode_s: p.sqlstate ?? '00000',
    processId_d: pid,
    prefix_s: '%t-%c-',
    timestamp_s: ts,
    ...(p.detail !== undefined ? { detail_log_s: p.detail } : {}),
    SourceSystem: 'Azure',
    Type: 'AzureDiagnostics',
    _ItemId: randomUUID(),
    ...(p.ingested !== undefined ? { [INGESTED]: new Date(p.ingested).toISOString() } : {}),
  }
}

/**
 * A PGSQLServerLogs row (resource-specific table of Flexible Server). Its columns
 * (learn.microsoft.com/azure/azure-monitor/reference/tables/pgsqlserverlogs) have no Category and
 * no Prefix; DETAIL, HINT, CONTEXT and the statement are columns of their own.
 */
export function serverLogsRow(p: {
  time: number
  server: string
  message: string
  level?: string
  sqlstate?: string
  pid?: number
  detail?: string
  hint?: string
  ingested?: number
}): Row {
  const ts = new Date(p.time)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
  const pid = p.pid ?? 5120
  return {
    TimeGenerated: new Date(p.time).toISOString(),
    LogicalServerName: p.server,
    Message: `${ts}-6632a1f0.${pid.toString(16)}-${p.level ?? 'LOG'}:  ${p.message}`,
    ErrorLevel: p.level ?? 'LOG',
    SqlErrorCode: p.sqlstate ?? '00000',
    ProcessId: pid,
    Detail: '',
    DetailLog: p.detail ?? '',
    Hint: p.hint ?? '',
    Context: '',
    Location: 'westeurope',
    _ResourceId: `/subscriptions/8f3a2c1e-5b7d-4e2a-9c1f-0a1b2c3d4e5f/resourcegroups/rg-data/providers/microsoft.dbforpostgresql/flexibleservers/${p.server}`,
    Type: 'PGSQLServerLogs',
    _ItemId: randomUUID(),
    ...(p.ingested !== undefined ? { [INGESTED]: new Date(p.ingested).toISOString() } : {}),
  }
}
