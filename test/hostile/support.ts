// Shared pieces of the hostile-input suite: realistic seed lines per format, a parser harness that
// records everything it emits, and the accounting checks every fuzz case must pass.

import { mkdtempSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { DEAD_LETTER_RAW_LIMIT, DeadLetter, type LogFormat, LogRecord } from '@connrca/contracts'
import { createParser, type ParseOptions } from '@connrca/pglog'

export const FORMATS: readonly LogFormat[] = ['stderr', 'csvlog', 'jsonlog', 'syslog', 'azure', 'auto']

/** Real-looking lines per format; fuzz cases cut, splice and corrupt them. */
export const SEEDS: Record<Exclude<LogFormat, 'auto'>, readonly string[]> = {
  stderr: [
    '2024-05-01 10:02:03.123 UTC [4242] app@orders FATAL:  no pg_hba.conf entry for host "81.2.69.12", user "app", database "orders", SSL encryption',
    '2024-05-01 10:02:03.124 UTC [4243] LOG:  connection received: host=10.0.0.7 port=51234',
    '2024-05-01 10:02:03.125 UTC [4244] bob@billing FATAL:  password authentication failed for user "bob"',
    '2024-05-01 10:02:03.126 UTC [4244] bob@billing DETAIL:  Connection matched pg_hba.conf line 95: "host all all 0.0.0.0/0 scram-sha-256"',
    '2024-05-01 10:02:03.127 UTC [4245] ERROR:  syntax error at or near "SELEC"',
    '\tFROM orders WHERE id = 1',
    '2024-05-01 10:02:03.128 UTC [4245] STATEMENT:  SELEC *',
    '2024-05-01 10:02:04.000 UTC [4246] FATAL:  28P01: password authentication failed for user "x"',
    '2024-05-01 10:02:05 UTC [4247]: [1-1] user=app,db=orders,app=psql,client=10.1.1.1 LOG:  disconnection: session time: 0:00:01.002',
  ],
  csvlog: [
    '2024-05-01 10:02:03.123 UTC,"app","orders",4242,"81.2.69.12:5432",663214a3.1092,1,"authentication",2024-05-01 10:02:03 UTC,3/0,0,FATAL,28000,"no pg_hba.conf entry for host ""81.2.69.12"", user ""app"", database ""orders"", SSL encryption",,,,,,,,,"psql","client backend",,0',
    '2024-05-01 10:02:04.000 UTC,,,4243,"10.0.0.7:51234",663214a4.1093,1,"",2024-05-01 10:02:04 UTC,,0,LOG,00000,"connection received: host=10.0.0.7 port=51234",,,,,,,,,"","not initialized",,0',
    '2021-01-04 00:22:01.903 UTC,"postgres","postgres",59,"172.24.0.1:42642",5ff25f96.3b,3,"SELECT",2021-01-04 00:21:42 UTC,3/0,0,LOG,00000,"duration: 0.658 ms  statement: SELECT \'multi\',',
    '\'line\';",,,,,,,,,"psql"',
  ],
  jsonlog: [
    '{"timestamp":"2024-05-01 10:02:03.123 UTC","user":"app","dbname":"orders","pid":4242,"remote_host":"81.2.69.12","remote_port":5432,"session_id":"663214a3.1092","line_num":1,"ps":"authentication","session_start":"2024-05-01 10:02:03 UTC","vxid":"3/0","txid":0,"error_severity":"FATAL","state_code":"28000","message":"no pg_hba.conf entry for host \\"81.2.69.12\\", user \\"app\\", database \\"orders\\", SSL encryption","application_name":"psql","backend_type":"client backend","query_id":0}',
    '{"timestamp":"2024-05-01 10:02:04.000 UTC","pid":4243,"error_severity":"LOG","message":"connection received: host=10.0.0.7 port=51234"}',
    '{"level":"info","ts":1714557723.1,"logger":"postgres","record":{"log_time":"2024-05-01 10:02:03.123 UTC","user_name":"app","database_name":"orders","process_id":"4242","connection_from":"81.2.69.12:5432","error_severity":"FATAL","sql_state_code":"28P01","message":"password authentication failed for user \\"app\\""}}',
  ],
  syslog: [
    'May  1 10:02:03 db1 postgres[4242]: [3-1] 2024-05-01 10:02:03.123 UTC [4242] FATAL:  password authentication failed for user "app"',
    'May  1 10:02:03 db1 postgres[4242]: [3-2] #011Connection matched pg_hba.conf line 95',
    '<134>1 2024-05-01T10:02:03.123Z db1 postgres 4243 - - [4-1] 2024-05-01 10:02:03.123 UTC [4243] LOG:  connection received: host=10.0.0.7 port=51234',
    'May  1 10:02:04 db1 postgres[4244]: [5-1] 2024-05-01 10:02:04.000 UTC [4244] FATAL:  sorry, too many clients already',
  ],
  azure: [
    '{"TimeGenerated":"2024-05-01T10:02:03.123Z","Category":"PostgreSQLLogs","LogicalServerName_s":"orders-prod","Message":"2024-05-01 10:02:03 UTC-663214a3.1092-FATAL:  no pg_hba.conf entry for host \\"81.2.69.12\\", user \\"app\\", database \\"orders\\", SSL on","errorLevel_s":"FATAL","sqlerrcode_s":"28000","processId_d":4242}',
    '{"TimeGenerated":"2024-05-01T10:02:03.124Z","Category":"PostgreSQLLogs","LogicalServerName_s":"orders-prod","Message":"2024-05-01 10:02:03 UTC-663214a3.1092-DETAIL:  Client IP address: 81.2.69.12","errorLevel_s":"DETAIL","processId_d":4242}',
    '{"TimeGenerated":"2024-05-01T10:02:04Z","LogicalServerName":"crm-prod","Message":"could not accept SSL connection: unsupported protocol","ErrorLevel":"LOG","ProcessId":77}',
  ],
}

export const ALL_SEEDS: readonly string[] = Object.values(SEEDS).flat()

export interface Emitted {
  records: LogRecord[]
  dead: DeadLetter[]
  elapsedMs: number
  /** set when push/flush threw: the property fails with it */
  threw?: unknown
}

/** Pushes lines with positions 0..n-1 (a stream sequence) and flushes; never lets an exception escape. */
export function runParser(format: LogFormat, lines: readonly string[], opts: Partial<ParseOptions> = {}): Emitted {
  const out: Emitted = { records: [], dead: [], elapsedMs: 0 }
  const started = performance.now()
  try {
    const p = createParser(
      { format, source: { kind: 'file', name: 'hostile.log' }, server: 'fuzz', syslogYear: 2024, ...opts },
      { record: (r) => out.records.push(r), deadLetter: (d) => out.dead.push(d) },
    )
    for (let i = 0; i < lines.length; i++) p.push(lines[i], i)
    p.flush()
  } catch (err) {
    out.threw = err
  }
  out.elapsedMs = performance.now() - started
  return out
}

const CONTINUATION_WORDS = ['DETAIL:', 'HINT:', 'CONTEXT:', 'STATEMENT:', 'QUERY:', 'LOCATION:']

function countQuotes(s: string): number {
  let n = 0
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++
  return n
}

/**
 * Whether non-empty line `i`, which has no output of its own, may legitimately have been absorbed
 * into an earlier record. Deliberately permissive: it flags only lines no join rule can explain.
 * `emitted(p)` tells whether line p has an output.
 */
function absorbable(format: LogFormat, lines: readonly string[], i: number, emitted: (p: number) => boolean): boolean {
  const l = lines[i]
  const ws = l.charCodeAt(0) === 9 || l.charCodeAt(0) === 32
  const word = CONTINUATION_WORDS.some((w) => l.includes(w))
  // syslog: a [n-m] chunk, or a tab line of the same process (a literal tab, or rsyslog's #011)
  const chunk = /\[\d+-\d+\]/.test(l) || l.includes('#011') || l.includes('\t')
  // azure: a row whose level field says DETAIL/HINT/... joins its process's record whatever its Message
  const azureRow = /"(errorLevel_s|ErrorLevel|errorLevel)"/.test(l)
  // csv: only a quoted field left open by the nearest earlier emitted line can swallow later lines
  const csvCont = () => {
    let p = i - 1
    while (p >= 0 && !emitted(p)) p--
    return p >= 0 && (countQuotes(lines[p]) & 1) === 1
  }
  switch (format) {
    case 'stderr':
      return ws || word
    case 'syslog':
      return ws || word || chunk
    case 'csvlog':
      return csvCont()
    case 'jsonlog':
      return false
    case 'azure':
      return word || azureRow
    default: // auto: whichever format it detected
      return ws || word || chunk || azureRow || csvCont()
  }
}

/**
 * The accounting every hostile input must satisfy. Returns a list of violations (empty = fine) so a
 * property can report all of them at once with the offending input.
 */
export function violations(format: LogFormat, lines: readonly string[], e: Emitted): string[] {
  const v: string[] = []
  if (e.threw !== undefined) {
    v.push(`threw: ${(e.threw as Error)?.stack ?? String(e.threw)}`)
    return v
  }
  const seen = new Map<string, string>()
  const note = (pos: unknown, what: string) => {
    const k = String(pos)
    if (typeof pos !== 'number' || !Number.isInteger(pos) || pos < 0 || pos >= lines.length)
      v.push(`${what} at position ${k}, which was never pushed`)
    const prev = seen.get(k)
    if (prev !== undefined) v.push(`position ${k} emitted twice (${prev} and ${what})`)
    seen.set(k, what)
  }
  for (const d of e.dead) {
    const parsed = DeadLetter.safeParse(d)
    if (!parsed.success) v.push(`dead letter fails its schema: ${parsed.error.issues[0]?.message}`)
    if (typeof d.reason !== 'string' || d.reason.trim() === '') v.push('dead letter without a reason')
    if (typeof d.raw === 'string' && d.raw.length > DEAD_LETTER_RAW_LIMIT)
      v.push(`dead letter raw of ${d.raw.length} chars exceeds ${DEAD_LETTER_RAW_LIMIT}`)
    note(d.source?.position, `dead letter (${d.reason})`)
  }
  for (const r of e.records) {
    const parsed = LogRecord.safeParse(r)
    if (!parsed.success) {
      const i = parsed.error.issues[0]
      v.push(
        `record fails the LogRecord schema at ${i?.path.join('.')}: ${i?.message} (value ${String(pick(r, i?.path))})`,
      )
    }
    note(r.source.position, 'record')
  }
  const first = lines.findIndex((l) => l.length > 0)
  if (first >= 0 && !seen.has(String(first)))
    v.push(`first non-empty line (#${first}) produced neither a record nor a dead letter`)
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].length === 0 || seen.has(String(i)) || absorbable(format, lines, i, (p) => seen.has(String(p))))
      continue
    v.push(`line #${i} vanished: ${JSON.stringify(lines[i].slice(0, 120))}`)
    if (v.length > 8) break
  }
  return v
}

function pick(r: unknown, p: PropertyKey[] | undefined): unknown {
  let x = r as Record<PropertyKey, unknown> | undefined
  for (const k of p ?? []) x = x?.[k] as Record<PropertyKey, unknown> | undefined
  return x
}

/** Splits decoded bytes the way the line reader does: on \n, one trailing \r stripped. */
export function toLines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: hostile tests read arbitrary JSON bodies
  json: any
}

/**
 * One HTTP request that tolerates the server hanging up mid-upload (as it should on an oversized
 * body): the response, if one arrived, wins over the write error.
 */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.body !== undefined && !opts.chunked) headers['content-length'] = String(Buffer.byteLength(opts.body))
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on('error', reject)
      },
    )
    req.on('error', (err) => setTimeout(() => reject(err), 200)) // a response may still be on its way
    if (opts.body === undefined) return void req.end()
    const body = Buffer.from(opts.body)
    const step = 64 * 1024
    let i = 0
    const pump = (): void => {
      while (i < body.length) {
        const part = body.subarray(i, i + step)
        i += step
        if (req.destroyed) return
        if (!req.write(part)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

/** Opens a raw socket, sends `head`, then drips `drip` one byte per `everyMs`; reports when the server hangs up. */
export function slowloris(port: number, head: string, drip: string, everyMs = 100) {
  const sock = net.connect(port, '127.0.0.1')
  let closedAt: number | undefined
  let received = ''
  const started = Date.now()
  sock.on('data', (d) => {
    received += d.toString('latin1')
  })
  sock.on('error', () => {})
  sock.on('close', () => {
    closedAt = Date.now()
    clearInterval(timer)
  })
  sock.write(head)
  let i = 0
  const timer = setInterval(() => {
    if (sock.destroyed || i >= drip.length) return
    sock.write(drip[i++])
  }, everyMs)
  return {
    get closedAfterMs() {
      return closedAt === undefined ? undefined : closedAt - started
    },
    get received() {
      return received
    },
    get sent() {
      return i
    },
    destroy() {
      clearInterval(timer)
      sock.destroy()
    },
  }
}
