/**
 * A small ClickHouse HTTP interface over one chDB data directory, so several processes in a
 * distributed test can share one embedded engine over loopback (chDB allows one data directory
 * per process). It implements what @clickhouse/client uses: GET /ping, POST / with the query
 * in the body or the `query` URL parameter (data in the body), `database`, `default_format`,
 * `param_*` (URL or multipart body), settings as URL parameters, `query_id`, gzip request
 * bodies and responses, basic auth or X-ClickHouse-User/Key, errors as `Code: N. DB::Exception`
 * with X-ClickHouse-Exception-Code, and X-ClickHouse-Summary.
 *
 * Every request runs in its own chDB session: URL settings, `database` and chDB's habit of
 * leaking a failed query's partial output into the next result all stay inside that request.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync, gzipSync } from 'node:zlib'
import { ChdbSession } from '../../packages/store/src/chdb-native.js'

export interface ClickHouseFrontOptions {
  dataDir: string
  user?: string
  password?: string
}

export interface ClickHouseFront {
  url: string
  close(): Promise<void>
}

/** URL parameters that are not settings. */
const RESERVED = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'compress',
  'decompress',
  'buffer_size',
  'role',
  'quota_key',
])
/** Settings that only mean something to the HTTP layer of a real server. */
const HTTP_ONLY = new Set([
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'enable_http_compression',
  'http_zlib_compression_level',
  'cancel_http_readonly_queries_on_client_close',
])

const VERSION = '26.7'

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export async function startClickHouseFront(opts: ClickHouseFrontOptions): Promise<ClickHouseFront> {
  mkdirSync(opts.dataDir, { recursive: true })
  const user = opts.user ?? 'default'
  const password = opts.password ?? ''
  // held open for the server's lifetime: keeps the engine bound to this directory
  const anchor = new ChdbSession(opts.dataDir)

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' })
      res.end(`Code: 1001. DB::Exception: front: ${(err as Error).message}. (STD_EXCEPTION)\n`)
    })
  })
  server.keepAliveTimeout = 10_000

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front')
    const body = await readBody(req)
    if (url.pathname === '/ping' || (req.method === 'GET' && url.pathname === '/' && !url.searchParams.has('query'))) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' })
      res.end('Ok.\n')
      return
    }
    const queryId = url.searchParams.get('query_id') || randomUUID()
    const baseHeaders = {
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Timezone': 'UTC',
      'X-ClickHouse-Server-Display-Name': 'connrca-front',
      'Keep-Alive': 'timeout=10',
    }
    try {
      authenticate(req, url, user, password)
      const fields = parseFields(url, req, body)
      const sql = fields.query
      if (!sql.trim()) throw new HttpError(400, 62, 'Empty query. (SYNTAX_ERROR)')
      const format = url.searchParams.get('default_format') || 'TabSeparated'
      const isInsertWithoutData = fields.dataInBody !== undefined && fields.dataInBody.trim() === ''
      const started = process.hrtime.bigint()
      let output = Buffer.alloc(0)
      let rows = 0
      let bytes = 0
      if (!isInsertWithoutData) {
        const session = new ChdbSession(opts.dataDir)
        try {
          const database = url.searchParams.get('database')
          if (database) session.query(`USE ${quoteIdent(database)}`)
          // a server quotes 64-bit integers in JSON by default; chDB does not
          session.query('SET output_format_json_quote_64bit_integers = 1')
          for (const [k, v] of url.searchParams) {
            if (RESERVED.has(k) || HTTP_ONLY.has(k) || k.startsWith('param_')) continue
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
              throw new HttpError(400, 115, `Unknown setting ${k}. (UNKNOWN_SETTING)`)
            session.query(`SET ${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : quoteString(v)}`)
          }
          const bound = bindParams(sql, fields.params)
          const full = fields.dataInBody !== undefined ? `${bound}\n${fields.dataInBody}` : bound
          const result = await session.queryAsync(full, { format })
          output = Buffer.from(result.bytes())
          rows = result.rowsRead
          bytes = result.bytesRead
        } finally {
          session.close()
        }
      }
      const elapsedNs = String(process.hrtime.bigint() - started)
      const insert = fields.dataInBody !== undefined
      // chDB reports no written-row count; for the line formats clients insert with, lines are rows
      if (insert) rows = countLines(fields.dataInBody ?? '')
      const summary = {
        read_rows: String(rows),
        read_bytes: String(bytes),
        written_rows: insert ? String(rows) : '0',
        written_bytes: insert ? String(bytes) : '0',
        total_rows_to_read: '0',
        result_rows: insert ? '0' : String(rows),
        result_bytes: insert ? '0' : String(output.length),
        elapsed_ns: elapsedNs,
      }
      const headers: Record<string, string> = {
        ...baseHeaders,
        'Content-Type': contentType(format),
        'X-ClickHouse-Format': format,
        'X-ClickHouse-Summary': JSON.stringify(summary),
      }
      const gzip =
        url.searchParams.get('enable_http_compression') === '1' &&
        /\bgzip\b/.test(String(req.headers['accept-encoding']))
      if (gzip) {
        headers['Content-Encoding'] = 'gzip'
        output = gzipSync(output)
      }
      res.writeHead(200, headers)
      res.end(output)
    } catch (err) {
      const { status, code, message } = toHttpError(err)
      res.writeHead(status, {
        ...baseHeaders,
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Exception-Code': String(code),
      })
      res.end(`${message}\n`)
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      anchor.close()
    },
  }
}

function authenticate(req: http.IncomingMessage, url: URL, user: string, password: string): void {
  let u = 'default'
  let p = ''
  const auth = req.headers.authorization
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    u = colon === -1 ? decoded : decoded.slice(0, colon)
    p = colon === -1 ? '' : decoded.slice(colon + 1)
  } else if (req.headers['x-clickhouse-user'] !== undefined) {
    u = String(req.headers['x-clickhouse-user'])
    p = String(req.headers['x-clickhouse-key'] ?? '')
  } else if (url.searchParams.has('user')) {
    u = url.searchParams.get('user') ?? ''
    p = url.searchParams.get('password') ?? ''
  }
  if (u !== user || p !== password) {
    throw new HttpError(
      401,
      516,
      `${u}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`,
    )
  }
}

interface Fields {
  query: string
  params: Map<string, string>
  /** Data for an INSERT whose statement came in the URL. */
  dataInBody?: string
}

function parseFields(url: URL, req: http.IncomingMessage, body: Buffer): Fields {
  const params = new Map<string, string>()
  for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params.set(k.slice(6), v)
  const ctype = String(req.headers['content-type'] ?? '')
  if (ctype.startsWith('multipart/form-data')) {
    const boundary = /boundary=("?)([^";]+)\1/.exec(ctype)?.[2]
    if (!boundary) throw new HttpError(400, 36, 'multipart body without boundary. (BAD_ARGUMENTS)')
    const parts = parseMultipart(body.toString('utf8'), boundary)
    for (const [k, v] of parts) if (k.startsWith('param_')) params.set(k.slice(6), v)
    return { query: parts.get('query') ?? url.searchParams.get('query') ?? '', params }
  }
  const inUrl = url.searchParams.get('query')
  if (inUrl !== null) {
    return body.length > 0 ? { query: inUrl, params, dataInBody: body.toString('utf8') } : { query: inUrl, params }
  }
  return { query: body.toString('utf8'), params }
}

function parseMultipart(text: string, boundary: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const chunk of text.split(`--${boundary}`)) {
    const headerEnd = chunk.indexOf('\r\n\r\n')
    if (headerEnd === -1) continue
    const name = /name="([^"]+)"/.exec(chunk.slice(0, headerEnd))?.[1]
    if (!name) continue
    out.set(name, chunk.slice(headerEnd + 4).replace(/\r\n$/, ''))
  }
  return out
}

/**
 * Substitutes `{name:Type}` the way the server reads `param_name`: the value is text in the
 * escaped (TabSeparated) format of Type. chDB's own binder expects JS values instead.
 */
function bindParams(sql: string, params: Map<string, string>): string {
  if (params.size === 0) return sql
  return sql.replace(/\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/g, (_whole, name: string, type: string) => {
    const value = params.get(name)
    if (value === undefined) {
      throw new HttpError(400, 456, `Substitution \`${name}\` is not set. (UNKNOWN_QUERY_PARAMETER)`)
    }
    if (type === 'Identifier') return quoteIdent(unescapeTsv(value))
    if (value === '\\N' && /^Nullable\(/.test(type)) return `CAST(NULL AS ${type})`
    const stringLike = /^(LowCardinality\()?(Nullable\()?(String|FixedString\(\d+\))\)*$/.test(type)
    return `CAST(${quoteString(stringLike ? unescapeTsv(value) : value)} AS ${type})`
  })
}

function unescapeTsv(v: string): string {
  return v.replace(/\\(.)/gs, (_m, c: string) => {
    switch (c) {
      case 't':
        return '\t'
      case 'n':
        return '\n'
      case 'r':
        return '\r'
      case '0':
        return '\0'
      case 'b':
        return '\b'
      case 'f':
        return '\f'
      default:
        return c
    }
  })
}

const quoteString = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const quoteIdent = (v: string) => `\`${v.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``

function countLines(data: string): number {
  let n = 0
  let from = 0
  while (from < data.length) {
    const nl = data.indexOf('\n', from)
    const end = nl === -1 ? data.length : nl
    if (end > from && data.slice(from, end).trim() !== '') n++
    from = end + 1
  }
  return n
}

function contentType(format: string): string {
  if (format.startsWith('JSON')) return 'application/json; charset=UTF-8'
  if (format.startsWith('CSV')) return 'text/csv; charset=UTF-8'
  return 'text/plain; charset=UTF-8'
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const raw = Buffer.concat(chunks)
  const enc = String(req.headers['content-encoding'] ?? '')
  return enc.includes('gzip') && raw.length > 0 ? gunzipSync(raw) : raw
}

function toHttpError(err: unknown): { status: number; code: number; message: string } {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      code: err.code,
      message: `Code: ${err.code}. DB::Exception: ${err.message} (version ${VERSION})`,
    }
  }
  const e = err as { message?: string; clickhouseCode?: number }
  const text = String(e?.message ?? err).trim()
  const m = /^Code: (\d+)\. /.exec(text)
  if (m) return { status: 500, code: Number(m[1]), message: text }
  const code = e?.clickhouseCode ?? 1001
  return { status: 500, code, message: `Code: ${code}. DB::Exception: ${text}. (STD_EXCEPTION) (version ${VERSION})` }
}
