import { randomUUID } from 'node:crypto'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { makeTestCert, type TestCert } from './tls-cert.js'

/**
 * A Log Analytics query API stand-in for tests: HTTPS on 127.0.0.1, `POST [/v1]/workspaces/{id}/query`
 * with a bearer token, answering in the documented shape (`tables[].columns/rows`, `error` for
 * partial results, 429 + Retry-After). It understands just the KQL the collector sends: table,
 * TimeGenerated range, Category filter, `has_any`, `project … column_ifexists`, `take`.
 */

export type Row = Record<string, string | number | null>

export type Fault =
  | { status: 429; retryAfter?: string }
  | { status: 500 | 502 | 503 | 504 }
  | { partial: 'shard' }
  | { status: 401 }

export interface EmulatorOptions {
  workspaceId?: string
  token?: string
  /** Rows per response above which the answer is cut and flagged as a partial result (the service's 500,000). */
  resultLimit?: number
}

export interface AzureEmulator {
  url: string
  cert: TestCert
  workspaceId: string
  token: string
  tables: Map<string, Row[]>
  /** Served in order, one per request, before normal answers. */
  faults: Fault[]
  requests: Array<{ query: string; timespan?: string; at: number; status: number }>
  maxConcurrent: number
  resultLimit: number
  add(table: string, ...rows: Row[]): void
  close(): Promise<void>
}

const COLUMN_TYPES: Record<string, string> = {
  TimeGenerated: 'datetime',
  processId_d: 'real',
  ProcessId: 'int',
}

export async function startAzureEmulator(opts: EmulatorOptions = {}): Promise<AzureEmulator> {
  const cert = makeTestCert()
  const emu: AzureEmulator = {
    url: '',
    cert,
    workspaceId: opts.workspaceId ?? randomUUID(),
    token: opts.token ?? 'test-token',
    tables: new Map(),
    faults: [],
    requests: [],
    maxConcurrent: 0,
    resultLimit: opts.resultLimit ?? 500_000,
    add(table, ...rows) {
      const list = this.tables.get(table) ?? []
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
      // A little latency so overlapping pulls would be visible.
      setTimeout(() => {
        inFlight--
        const { status, body, headers } = answer(
          emu,
          req.method ?? '',
          req.url ?? '',
          req.headers.authorization,
          chunks,
        )
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        res.end(JSON.stringify(body))
      }, 15)
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

function answer(
  emu: AzureEmulator,
  method: string,
  url: string,
  auth: string | undefined,
  chunks: Buffer[],
): { status: number; body: unknown; headers?: Record<string, string> } {
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
  if (auth !== `Bearer ${emu.token}`) {
    log(401)
    return {
      status: 401,
      body: error('InvalidTokenError', 'The provided authentication is not valid for this resource'),
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
    if (fault.status === 401) return { status: 401, body: error('InvalidTokenError', 'token expired') }
    return { status: fault.status, body: error('ServiceUnavailable', 'The service is temporarily unavailable') }
  }
  const q = parseKql(parsed.query ?? '')
  const rows = emu.tables.get(q.table)
  if (!rows) {
    log(400)
    return {
      status: 400,
      body: {
        error: {
          code: 'BadArgumentError',
          message: `The request had some invalid properties. Failed to resolve table expression named '${q.table}'`,
          innererror: {
            code: 'SemanticError',
            message: `'where' operator: Failed to resolve table or column expression named '${q.table}'`,
          },
        },
      },
    }
  }
  let selected = rows.filter((r) => {
    const t = Date.parse(String(r.TimeGenerated))
    if (q.from !== undefined && t < q.from) return false
    if (q.to !== undefined && t >= q.to) return false
    if (q.category !== undefined && r.Category !== q.category) return false
    if (q.hasAny && !q.hasAny.some((term) => hasTerm(String(r.Message ?? ''), term))) return false
    return true
  })
  selected.sort((a, b) => Date.parse(String(a.TimeGenerated)) - Date.parse(String(b.TimeGenerated)))
  if (q.take !== undefined) selected = selected.slice(0, q.take)
  const columns = q.columns.map((name) => ({
    name,
    type: COLUMN_TYPES[name] ?? (name === '_ItemId' ? 'string' : 'string'),
  }))
  const table = (list: Row[]) => ({
    name: 'PrimaryResult',
    columns,
    rows: list.map((r) => q.columns.map((c) => r[c] ?? (COLUMN_TYPES[c] && c !== 'TimeGenerated' ? null : ''))),
  })
  if (fault && 'partial' in fault) {
    log(200)
    return {
      status: 200,
      body: {
        tables: [table(selected.slice(0, Math.floor(selected.length / 2)))],
        error: {
          code: 'PartialError',
          message: 'There were some errors when processing your query.',
          details: [{ code: 'EngineError', message: 'Some shards of the workspace could not be queried' }],
        },
      },
    }
  }
  if (selected.length > emu.resultLimit) {
    log(200)
    return {
      status: 200,
      body: {
        tables: [table(selected.slice(0, emu.resultLimit))],
        error: {
          code: 'PartialError',
          message: 'There were some errors when processing your query.',
          details: [
            {
              code: 'EngineError',
              message: `Query result set has exceeded the internal record count limit ${emu.resultLimit} records`,
            },
          ],
        },
      },
    }
  }
  log(200)
  return { status: 200, body: { tables: [table(selected)] } }
}

function error(code: string, message: string) {
  return { error: { code, message } }
}

interface Kql {
  table: string
  from?: number
  to?: number
  category?: string
  hasAny?: string[]
  columns: string[]
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
    const cat = /Category == "([^"]+)"/.exec(l)
    if (cat) q.category = cat[1]
    const has = /has_any \((.*)\)$/.exec(l)
    if (has) q.hasAny = JSON.parse(`[${has[1]}]`)
    if (l.startsWith('| project ')) {
      q.columns = splitTop(l.slice('| project '.length)).map((c) => c.split('=')[0].trim())
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

/** KQL `has`: the term occurs as a whole token (case-insensitive). */
function hasTerm(text: string, term: string): boolean {
  const re = new RegExp(`(^|[^A-Za-z0-9_])${term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_])`, 'i')
  return re.test(text)
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
    SourceSystem: 'Azure',
    Type: 'AzureDiagnostics',
    _ItemId: randomUUID(),
  }
}

/** A PGSQLServerLogs row (resource-specific table of Flexible Server). */
export function serverLogsRow(p: {
  time: number
  server: string
  message: string
  level?: string
  sqlstate?: string
  pid?: number
}): Row {
  const ts = new Date(p.time)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
  const pid = p.pid ?? 5120
  return {
    TimeGenerated: new Date(p.time).toISOString(),
    Category: 'PostgreSQLLogs',
    LogicalServerName: p.server,
    Message: `${ts}-6632a1f0.${pid.toString(16)}-${p.level ?? 'LOG'}:  ${p.message}`,
    ErrorLevel: p.level ?? 'LOG',
    SqlErrorCode: p.sqlstate ?? '00000',
    ProcessId: pid,
    _ResourceId: `/subscriptions/8f3a2c1e-5b7d-4e2a-9c1f-0a1b2c3d4e5f/resourcegroups/rg-data/providers/microsoft.dbforpostgresql/flexibleservers/${p.server}`,
    Type: 'PGSQLServerLogs',
    _ItemId: randomUUID(),
  }
}
