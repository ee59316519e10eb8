// jsonlog (PG 15+): one JSON object per line. Also accepts CloudNativePG's wrapper, whose csvlog-named
// fields sit under "record", and Google Cloud Logging's export of Cloud SQL (one stderr line of the
// server in "textPayload", its time in "timestamp", continuation lines as entries of their own).

import type { LogRecord } from '@connrca/contracts'
import { clip, type Origin, type RecordFilter } from './common.js'
import { knownMatchers } from './detect.js'
import { syslogLoosePrefix } from './loose-prefix.js'
import { compilePrefix, type PrefixMatcher } from './prefix.js'
import { severityOf } from './severity.js'
import { TextLogParser } from './stderr.js'
import { TimestampParser } from './timestamp.js'

/** Cloud SQL for PostgreSQL's log_line_prefix (not a settable flag there). */
export const CLOUD_SQL_PREFIX = '[%p]: [%l-1] db=%d,user=%u '

type Obj = Record<string, unknown>

export class JsonLogParser {
  private readonly ts = new TimestampParser()

  /** Cloud SQL's text lines, built on first use. */
  private cloudSql: TextLogParser | undefined

  /** `prefix`: the configured log_line_prefix, for the text lines of Cloud SQL exports. */
  constructor(
    private readonly origin: Origin,
    private readonly emit: (r: LogRecord) => void,
    private readonly relevant: RecordFilter | undefined = undefined,
    private readonly prefix: string | undefined = undefined,
    private readonly server: string | undefined = undefined,
  ) {}

  /**
   * True when the line is a valid jsonlog record (one `fromObject` builds, not a dead letter)
   * that the relevance filter rejects, told without JSON.parse: most lines of a real log are
   * such, and building all their members to drop them was most of the work. One match of
   * PG_JSONLOG proves the line valid JSON of the usual shape and hands over the four fields the
   * decision needs; anything unusual answers false and goes the full way.
   */
  private skippable(s: string): boolean {
    if (s.length > PG_JSONLOG_MAX) return false
    const m = PG_JSONLOG.exec(s)
    if (m === null) return false
    // the texts are JSON's, escapes undecoded: a time or severity with escapes fails here and
    // goes the full way; the first 19 characters of a time, which decide whether it parses, are
    // the same in the decoded text when they hold no backslash
    const severity = severityOf(m[2])
    if (severity === undefined || Number.isNaN(this.ts.parse(m[1], 0))) return false
    const raw = m[4]
    const message = raw.indexOf('\\') < 0 ? raw : (JSON.parse(`"${raw}"`) as string)
    return !(this.relevant as RecordFilter)(severity, message, 0, m[3])
  }

  /** The relevance filter, once the object is known to be a valid record: true = not built. */
  private skip(severity: LogRecord['severity'], message: string, sqlstate: unknown): boolean {
    if (this.relevant === undefined || this.relevant(severity, message, 0, str(sqlstate))) return false
    this.origin.irrelevant++
    return true
  }

  push(line: string, position: number): void {
    if (line.length === 0) return
    if (this.relevant !== undefined && this.skippable(line)) {
      this.origin.irrelevant++
      return
    }
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
    const obj = o as Obj
    if (typeof obj.textPayload === 'string' && typeof obj.timestamp === 'string') {
      this.fromCloudSql(obj, obj.textPayload, obj.timestamp, line, position)
      return
    }
    const r = this.fromObject(obj, line, position)
    if (r !== undefined) this.emit(r)
  }

  flush(): void {
    this.cloudSql?.flush()
  }

  settle(): void {
    this.cloudSql?.settle()
  }

  /** A Cloud Logging entry of Cloud SQL: the server's stderr line, the entry's time where the prefix has none. */
  private fromCloudSql(o: Obj, text: string, tsText: string, line: string, position: number): void {
    const time = this.time(tsText)
    if (Number.isNaN(time)) {
      this.origin.dead(line, position, `bad timestamp '${clip(tsText, 40)}'`)
      return
    }
    if (this.cloudSql === undefined) {
      const matchers: PrefixMatcher[] =
        this.prefix !== undefined
          ? [compilePrefix(this.prefix)]
          : [compilePrefix(CLOUD_SQL_PREFIX), ...knownMatchers().filter((m) => m.prefix !== CLOUD_SQL_PREFIX), syslogLoosePrefix]
      this.cloudSql = new TextLogParser(this.origin, matchers, this.emit, this.relevant)
    }
    const labels = (o.resource as { labels?: Obj } | undefined)?.labels
    const server = this.server ?? str(labels?.database_id)
    if (!this.cloudSql.entry(text, 0, position, time, -1, server))
      this.origin.dead(line, position, `Cloud SQL textPayload does not match log_line_prefix '${this.cloudSql.prefix}'`, server)
  }

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

// A line as PostgreSQL writes it (jsonlog.c): one object, no whitespace, "timestamp" first,
// "error_severity", "state_code" (optional) and "message" in a row and each once; keys without
// escapes and none named "record" or "textPayload" (the wrapper formats); values strings,
// numbers, true, false or null as JSON's grammar has them, so a match is valid JSON whose members
// JSON.parse would give the same values. Captures: the time, severity, state and message texts
// (the strings' insides, escapes undecoded). Strings are the unrolled loop (plain run, then
// escape + plain run, repeated): each character has one way through, so it runs in linear time
// and cannot backtrack into a blow-up on hostile text.
const JSON_CHARS = String.raw`[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*`
const JSON_VALUE = String.raw`(?:"${JSON_CHARS}"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)`
const OTHER_MEMBER = String.raw`"(?!timestamp"|error_severity"|state_code"|message"|record"|textPayload")[^"\\\x00-\x1f]*":${JSON_VALUE}`
/** A line of the shape above (exported for the tests). */
export const PG_JSONLOG = new RegExp(
  String.raw`^\{"timestamp":"(${JSON_CHARS})"(?:,${OTHER_MEMBER})*,"error_severity":"([A-Z0-9]+)"(?:,"state_code":"([0-9A-Z]{5})")?,"message":"(${JSON_CHARS})"(?:,${OTHER_MEMBER})*\}$`,
)
/** Longer lines take JSON.parse: the pattern's backtrack stack grows with the line. */
const PG_JSONLOG_MAX = 1 << 20
