// jsonlog (PG 15+): one JSON object per line. Also accepts CloudNativePG's wrapper, whose csvlog-named
// fields sit under "record".

import type { LogRecord } from '@connrca/contracts'
import { clip, type Origin, type RecordFilter } from './common.js'
import { severityOf } from './severity.js'
import { TimestampParser } from './timestamp.js'

type Obj = Record<string, unknown>

export class JsonLogParser {
  private readonly ts = new TimestampParser()

  constructor(
    private readonly origin: Origin,
    private readonly emit: (r: LogRecord) => void,
    private readonly relevant: RecordFilter | undefined = undefined,
  ) {}

  /** The relevance filter, once the object is known to be a valid record: true = not built. */
  private skip(severity: LogRecord['severity'], message: string, sqlstate: unknown): boolean {
    if (this.relevant === undefined || this.relevant(severity, message, 0, str(sqlstate))) return false
    this.origin.irrelevant++
    return true
  }

  push(line: string, position: number): void {
    if (line.length === 0) return
    let o: unknown
    try {
      o = JSON.parse(line)
    } catch (e) {
      this.origin.dead(line, position, `bad JSON: ${(e as Error).message}`)
      return
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      this.origin.dead(line, position, 'jsonlog line is not a JSON object')
      return
    }
    const r = this.fromObject(o as Obj, line, position)
    if (r !== undefined) this.emit(r)
  }

  flush(): void {}

  private fromObject(o: Obj, line: string, position: number): LogRecord | undefined {
    const rec = o.record
    if (typeof rec === 'object' && rec !== null) return this.fromCsvNames(rec as Obj, line, position)
    const sevText = str(o.error_severity)
    const tsText = str(o.timestamp)
    if (sevText === undefined || tsText === undefined || typeof o.message !== 'string') {
      this.origin.dead(line, position, 'jsonlog: missing required field timestamp, error_severity or message')
      return undefined
    }
    const time = this.time(tsText)
    const severity = severityOf(sevText)
    if (Number.isNaN(time) || severity === undefined) {
      this.origin.dead(line, position, badValue(time, tsText, sevText))
      return undefined
    }
    if (this.skip(severity, o.message, o.state_code)) return undefined
    const iq = str(o.internal_query)
    const ctx = str(o.context)
    return {
      id: this.origin.id(position),
      server: this.origin.server,
      time,
      severity,
      message: o.message,
      sqlstate: str(o.state_code),
      detail: str(o.detail),
      hint: str(o.hint),
      context: iq ? (ctx ? `${ctx}\ninternal query: ${iq}` : `internal query: ${iq}`) : ctx,
      statement: str(o.statement),
      pid: num(o.pid),
      sessionId: str(o.session_id),
      user: str(o.user),
      database: str(o.dbname),
      clientIp: host(str(o.remote_host)),
      clientPort: num(o.remote_port),
      application: str(o.application_name),
      backendType: str(o.backend_type),
      source: this.origin.ref(position),
    }
  }

  private fromCsvNames(o: Obj, line: string, position: number): LogRecord | undefined {
    const sevText = str(o.error_severity)
    const tsText = str(o.log_time)
    if (sevText === undefined || tsText === undefined || typeof o.message !== 'string') {
      this.origin.dead(line, position, 'json record: missing required field log_time, error_severity or message')
      return undefined
    }
    const time = this.time(tsText)
    const severity = severityOf(sevText)
    if (Number.isNaN(time) || severity === undefined) {
      this.origin.dead(line, position, badValue(time, tsText, sevText))
      return undefined
    }
    if (this.skip(severity, o.message, o.sql_state_code)) return undefined
    const from = str(o.connection_from)
    let ip: string | undefined
    let port: number | undefined
    if (from !== undefined && from !== '[local]') {
      const c = from.lastIndexOf(':')
      if (c > 0 && /^\d+$/.test(from.slice(c + 1))) {
        ip = from.slice(0, c)
        port = Number(from.slice(c + 1))
      } else ip = from
    }
    return {
      id: this.origin.id(position),
      server: this.origin.server,
      time,
      severity,
      message: o.message,
      sqlstate: str(o.sql_state_code),
      detail: str(o.detail),
      hint: str(o.hint),
      context: str(o.context),
      statement: str(o.query),
      pid: num(o.process_id),
      sessionId: str(o.session_id),
      user: str(o.user_name),
      database: str(o.database_name),
      clientIp: ip,
      clientPort: port,
      application: str(o.application_name),
      backendType: str(o.backend_type),
      source: this.origin.ref(position),
    }
  }

  private time(text: string): number {
    const t = this.ts.parse(text, 0)
    return Number.isNaN(t) ? Date.parse(text) : t
  }
}

function badValue(time: number, tsText: string, sevText: string): string {
  return Number.isNaN(time) ? `bad timestamp '${clip(tsText, 40)}'` : `unknown error_severity '${clip(sevText, 20)}'`
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && v !== '') {
    const n = Number(v)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

function host(h: string | undefined): string | undefined {
  return h === '[local]' ? undefined : h
}
