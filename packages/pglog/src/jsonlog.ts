// jsonlog (PG 15+): one JSON object per line. Also accepts CloudNativePG's wrapper, whose csvlog-named
// fields sit under "record", and Google Cloud Logging's export of Cloud SQL (one stderr line of the
// server in "textPayload", its time in "timestamp", continuation lines as entries of their own).

import type { LogRecord, Severity } from '@connrca/contracts'
import { clip, type Origin, type RecordFilter } from './common.js'
import { knownMatchers } from './detect.js'
import { syslogLoosePrefix } from './loose-prefix.js'
import { compilePrefix, type PrefixMatcher } from './prefix.js'
import { severityAt, severityOf } from './severity.js'
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
   * A line PG_LINE matched: the record JSON.parse + fromObject would give, from the captures
   * (strings with escapes decoded by JSON.parse of that string alone). Lines the relevance filter
   * rejects are told from four captures, before the other fields are decoded.
   */
  private fromMatch(m: RegExpExecArray, line: string, position: number): void {
    const ts = m[G.Timestamp]
    const sev = m[G.Severity]
    const severity = severityAt(sev, 0, sev.length)
    // as fromObject decides it: a time and a known severity (else a dead letter), then the filter
    if (ts !== '' && severity !== undefined) {
      const message = decode(m[G.Message])
      const relevant = this.relevant
      if (relevant !== undefined && !relevant(severity, message, 0, m[G.State])) {
        // the time is read in place (it starts at 14, after `{"timestamp":"`) unless escaped
        const t = ts.indexOf('\\') < 0 ? this.ts.parse(line, 14, 14 + ts.length) : Number.NaN
        if (!Number.isNaN(t) || !Number.isNaN(this.time(decode(ts)))) {
          this.origin.irrelevant++
          return
        }
      } else {
        const time = this.time(decode(ts))
        if (!Number.isNaN(time)) {
          this.emit(this.fromCaptures(m, position, time, severity, message))
          return
        }
      }
    }
    // not a valid record: fromObject names the reason in a dead letter
    const o: Obj = {
      timestamp: decode(ts),
      user: decodeOptional(m[G.User]),
      dbname: decodeOptional(m[G.Db]),
      pid: m[G.Pid] === undefined ? undefined : Number(m[G.Pid]),
      remote_host: decodeOptional(m[G.Host]),
      remote_port: m[G.Port] === undefined ? undefined : Number(m[G.Port]),
      session_id: decodeOptional(m[G.Session]),
      error_severity: sev,
      state_code: m[G.State],
      message: decode(m[G.Message]),
      detail: decodeOptional(m[G.Detail]),
      hint: decodeOptional(m[G.Hint]),
      internal_query: decodeOptional(m[G.InternalQuery]),
      context: decodeOptional(m[G.Context]),
      statement: decodeOptional(m[G.Statement]),
      application_name: decodeOptional(m[G.App]),
      backend_type: decodeOptional(m[G.Backend]),
    }
    const r = this.fromObject(o, line, position)
    if (r !== undefined) this.emit(r)
  }

  /**
   * What build() makes of the object the captures describe, without making that object (2-3 %
   * of jsonlog's time went into it). `test/hostile/fast-paths.test.ts` holds the two equal.
   */
  private fromCaptures(
    m: RegExpExecArray,
    position: number,
    time: number,
    severity: Severity,
    message: string,
  ): LogRecord {
    const iq = decodePresent(m[G.InternalQuery])
    const ctx = decodePresent(m[G.Context])
    return {
      id: this.origin.id(position),
      server: this.origin.server,
      time,
      severity,
      message,
      sqlstate: m[G.State],
      detail: decodePresent(m[G.Detail]),
      hint: decodePresent(m[G.Hint]),
      context: iq ? (ctx ? `${ctx}\ninternal query: ${iq}` : `internal query: ${iq}`) : ctx,
      statement: decodePresent(m[G.Statement]),
      pid: m[G.Pid] === undefined ? undefined : Number(m[G.Pid]),
      sessionId: decodePresent(m[G.Session]),
      user: decodePresent(m[G.User]),
      database: decodePresent(m[G.Db]),
      clientIp: host(decodePresent(m[G.Host])),
      clientPort: m[G.Port] === undefined ? undefined : Number(m[G.Port]),
      application: decodePresent(m[G.App]),
      backendType: decodePresent(m[G.Backend]),
      source: this.origin.ref(position),
    }
  }

  /** The relevance filter, once the object is known to be a valid record: true = not built. */
  private skip(severity: LogRecord['severity'], message: string, sqlstate: unknown): boolean {
    if (this.relevant === undefined || this.relevant(severity, message, 0, str(sqlstate))) return false
    this.origin.irrelevant++
    return true
  }

  /**
   * Lines pushed and not parsed yet, matched against PG_LINE as one block by drain(). PG_LINE's
   * compiled code is large: run between every line's other steps, it evicts theirs from the
   * CPU's instruction cache and each step pays to load it again. Matching a block of lines
   * first, then handling the matches, parses a jsonlog 12-15 % faster (1 M lines, paired runs).
   */
  private readonly held: string[] = []
  private readonly heldAt: number[] = []
  private readonly matches: (RegExpExecArray | null)[] = []
  private heldChars = 0

  push(line: string, position: number): void {
    if (line.length === 0) return
    this.held.push(line)
    this.heldAt.push(position)
    this.heldChars += line.length
    if (this.held.length === HOLD_LINES || this.heldChars >= HOLD_CHARS) this.drain()
  }

  /** Parses the held lines, in order. */
  private drain(): void {
    const held = this.held
    const n = held.length
    if (n === 0) return
    const ms = this.matches
    // a line as PostgreSQL writes it, without JSON.parse (see PG_LINE)
    for (let i = 0; i < n; i++) ms[i] = held[i].length <= PG_LINE_MAX ? PG_LINE.exec(held[i]) : null
    for (let i = 0; i < n; i++) {
      const m = ms[i]
      ms[i] = null
      this.line(held[i], this.heldAt[i], m)
    }
    held.length = 0
    this.heldAt.length = 0
    this.heldChars = 0
  }

  private line(line: string, position: number, m: RegExpExecArray | null): void {
    if (m !== null) {
      this.fromMatch(m, line, position)
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
    this.drain()
    this.cloudSql?.flush()
  }

  /** At the current end of the input: every held line is parsed (a jsonlog line is a whole record). */
  settle(): void {
    this.drain()
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
          : [
              compilePrefix(CLOUD_SQL_PREFIX),
              ...knownMatchers().filter((m) => m.prefix !== CLOUD_SQL_PREFIX),
              syslogLoosePrefix,
            ]
      this.cloudSql = new TextLogParser(this.origin, matchers, this.emit, this.relevant)
    }
    const labels = (o.resource as { labels?: Obj } | undefined)?.labels
    const server = this.server ?? str(labels?.database_id)
    if (!this.cloudSql.entry(text, 0, position, time, -1, server))
      this.origin.dead(
        line,
        position,
        `Cloud SQL textPayload does not match log_line_prefix '${this.cloudSql.prefix}'`,
        server,
      )
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
    return this.build(o, position, time, severity)
  }

  /** The record of a valid jsonlog object, its time and severity read. */
  private build(o: Obj, position: number, time: number, severity: Severity): LogRecord {
    const iq = str(o.internal_query)
    const ctx = str(o.context)
    return {
      id: this.origin.id(position),
      server: this.origin.server,
      time,
      severity,
      message: o.message as string,
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

// A line as PostgreSQL 15-17 writes it (jsonlog.c): one object, no whitespace, the members in
// jsonlog.c's order, each at most once, "timestamp", "error_severity" and "message" always, the
// fields fromObject reads captured (strings with their escapes undecoded, pid and port as
// integers), the others only checked. Every match is valid JSON (strings, numbers and escapes
// as JSON's grammar has them) that JSON.parse reads with the same values; anything else (another
// order, whitespace, unknown or repeated keys, the wrapper formats) takes JSON.parse. Strings are
// the unrolled loop (plain run, then escape + plain run, repeated): each character has one way
// through, so a match runs in linear time and cannot backtrack into a blow-up on hostile text.
const CHARS = String.raw`[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*`
const INT = '-?(?:0|[1-9][0-9]*)'
const NUMBER = String.raw`${INT}(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?`
const keep = (key: string) => `(?:,"${key}":"(${CHARS})")?`
const keepInt = (key: string) => `(?:,"${key}":(${INT}))?`
const check = (key: string) => `(?:,"${key}":"${CHARS}")?`
const checkNumber = (key: string) => `(?:,"${key}":${NUMBER})?`
/** A line of the shape above (exported for the tests); the groups are G. */
export const PG_LINE = new RegExp(
  [
    `^\\{"timestamp":"(${CHARS})"`,
    keep('user'),
    keep('dbname'),
    keepInt('pid'),
    keep('remote_host'),
    keepInt('remote_port'),
    keep('session_id'),
    checkNumber('line_num'),
    check('ps'),
    check('session_start'),
    check('vxid'),
    checkNumber('txid'),
    ',"error_severity":"([A-Z0-9]+)"',
    '(?:,"state_code":"([0-9A-Z]{5})")?',
    `,"message":"(${CHARS})"`,
    keep('detail'),
    keep('hint'),
    keep('internal_query'),
    checkNumber('internal_position'),
    keep('context'),
    keep('statement'),
    checkNumber('cursor_position'),
    check('func_name'),
    check('file_name'),
    checkNumber('file_line_num'),
    keep('application_name'),
    keep('backend_type'),
    checkNumber('leader_pid'),
    checkNumber('query_id'),
    '\\}$',
  ].join(''),
)
/** PG_LINE's groups. */
export enum G {
  Timestamp = 1,
  User,
  Db,
  Pid,
  Host,
  Port,
  Session,
  Severity,
  State,
  Message,
  Detail,
  Hint,
  InternalQuery,
  Context,
  Statement,
  App,
  Backend,
}
/** Longer lines take JSON.parse: the pattern's backtrack stack grows with the line. */
const PG_LINE_MAX = 1 << 20
/**
 * A block of lines for drain(): blocks of 16 to 256 lines were alike (one line at a time was
 * 25-30 % slower); the budget of characters keeps a block of long lines (statements of
 * megabytes) from holding much memory.
 */
const HOLD_LINES = 64
const HOLD_CHARS = 1 << 16

/** A captured JSON string's text, decoded. */
function decode(raw: string): string {
  return raw.indexOf('\\') < 0 ? raw : (JSON.parse(`"${raw}"`) as string)
}

/** decode, for groups that may be absent. */
function decodeOptional(raw: string | undefined): string | undefined {
  return raw === undefined ? undefined : decode(raw)
}

/** str(decodeOptional(raw)): absent and empty are undefined, as build() reads them. */
function decodePresent(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '' ? undefined : decode(raw)
}
