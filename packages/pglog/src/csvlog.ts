// csvlog: one CSV record per event; quoted fields may span physical lines.
// Column sets: 22 (PG 8.4), 23 (+application_name, 9.0-12), 24 (+backend_type, 13), 26 (+leader_pid, query_id, 14+).

import type { LogRecord, Severity } from '@connrca/contracts'
import { clip, type Origin, type RecordFilter } from './common.js'
import { severityAt, severityOf } from './severity.js'
import { TimestampParser } from './timestamp.js'

/** A record still inside quotes after this many bytes is taken as broken quoting. */
const MAX_RECORD = 4 * 1024 * 1024

enum Col {
  Time = 0,
  User = 1,
  Db = 2,
  Pid = 3,
  From = 4,
  Session = 5,
  Severity = 11,
  State = 12,
  Message = 13,
  Detail = 14,
  Hint = 15,
  InternalQuery = 16,
  Context = 18,
  Query = 19,
  App = 22,
  Backend = 23,
}

export class CsvLogParser {
  private pending: string[] = []
  private pendingLen = 0
  private pendingPos = 0
  private quotes = 0
  private readonly ts = new TimestampParser()
  private readonly fields: string[] = []
  private readonly starts = new Int32Array(COLUMNS_MAX + 1)

  constructor(
    private readonly origin: Origin,
    private readonly emit: (r: LogRecord) => void,
    private readonly relevant: RecordFilter | undefined = undefined,
  ) {}

  push(line: string, position: number): void {
    if (this.pending.length === 0) {
      if (line.length === 0) return
      // the usual line: a whole record with its quotes balanced, scanned once for everything
      const n = scanCsv(line, this.starts, true)
      if (n >= 0) {
        this.record(line, position, n)
        return
      }
    }
    const q = countQuotes(line)
    if (this.pending.length > 0) {
      // inside a quoted field: a line that is itself a whole record means the earlier quote never closed
      if ((q & 1) === 0 && this.looksLikeRecordStart(line)) {
        this.abandon('unterminated quoted field (broken CSV quoting)')
      } else {
        this.pending.push(line)
        this.pendingLen += line.length + 1
        this.quotes += q
        if ((this.quotes & 1) === 0) {
          const text = this.pending.join('\n')
          const pos = this.pendingPos
          this.pending = []
          this.pendingLen = 0
          this.record(text, pos, scanCsv(text, this.starts, false))
        } else if (this.pendingLen > MAX_RECORD) this.abandon(`quoted field longer than ${MAX_RECORD} bytes`)
        return
      }
    }
    if (line.length === 0) return
    if ((q & 1) === 1) {
      this.pending.push(line)
      this.pendingLen = line.length
      this.pendingPos = position
      this.quotes = q
      return
    }
    this.record(line, position, scanCsv(line, this.starts, false))
  }

  flush(): void {
    if (this.pending.length > 0) this.abandon('end of input inside a quoted field')
  }

  private abandon(reason: string): void {
    this.origin.dead(this.pending.join('\n'), this.pendingPos, reason)
    this.pending = []
    this.pendingLen = 0
  }

  private looksLikeRecordStart(line: string): boolean {
    const off = line.charCodeAt(0) === 34 ? 1 : 0
    return !Number.isNaN(this.ts.parse(line, off)) && line.charCodeAt(this.ts.end + off) === 44
  }

  /**
   * One record, `n` its column count from `scanCsv` into `starts`: built (or, when the relevance
   * filter rejects it, only counted) straight from the column offsets. Anything unusual (too few
   * columns, bad quoting, a quoted or bad time, an unknown severity) goes the full way, which
   * dead-letters it with its reason or builds it as before.
   */
  private record(text: string, position: number, n: number): void {
    if (n < 22 || !this.fromColumns(text, position, n)) this.full(text, position)
  }

  /** False when the record needs the full way; otherwise it is emitted or counted. */
  private fromColumns(text: string, position: number, n: number): boolean {
    const st = this.starts
    if (text.charCodeAt(0) === 34) return false
    const time = this.ts.parse(text, 0)
    if (Number.isNaN(time) || this.ts.end !== st[Col.Time + 1] - 1) return false
    const s0 = st[Col.Severity]
    if (text.charCodeAt(s0) === 34) return false
    const severity = severityAt(text, s0, st[Col.Severity + 1] - 1)
    if (severity === undefined) return false
    // as before the columns were read here: a quoted state or a message opening with an escaped
    // quote was built whatever the filter says (the classifier then drops it)
    const q0 = st[Col.State]
    const m0 = st[Col.Message]
    if (text.charCodeAt(q0) === 34 || (text.charCodeAt(m0) === 34 && text.charCodeAt(m0 + 1) === 34)) return false
    const sqlstate = q0 === st[Col.State + 1] - 1 ? undefined : text.slice(q0, st[Col.State + 1] - 1)
    const message = column(text, st, Col.Message)
    if (this.relevant !== undefined && !this.relevant(severity, message, 0, sqlstate)) {
      this.origin.irrelevant++
      return true
    }
    this.build(position, n, time, severity, (k) => column(text, st, k))
    return true
  }

  /** The record of a well-formed csvlog line, its time and severity read; `col` gives column k. */
  private build(position: number, n: number, time: number, severity: Severity, col: (k: Col) => string): void {
    const from = col(Col.From)
    let ip: string | undefined
    let port: number | undefined
    if (from !== '' && from !== '[local]') {
      const c = from.lastIndexOf(':')
      if (c > 0 && isDigits(from, c + 1)) {
        ip = from.slice(0, c)
        port = Number(from.slice(c + 1))
      } else ip = from
    }
    const iq = col(Col.InternalQuery)
    const ctx = col(Col.Context)
    const pid = col(Col.Pid)
    this.emit({
      id: this.origin.id(position),
      server: this.origin.server,
      time,
      severity,
      message: col(Col.Message),
      sqlstate: col(Col.State) || undefined,
      detail: col(Col.Detail) || undefined,
      hint: col(Col.Hint) || undefined,
      context: iq ? (ctx ? `${ctx}\ninternal query: ${iq}` : `internal query: ${iq}`) : ctx || undefined,
      statement: col(Col.Query) || undefined,
      pid: pid === '' ? undefined : Number(pid),
      sessionId: col(Col.Session) || undefined,
      user: col(Col.User) || undefined,
      database: col(Col.Db) || undefined,
      clientIp: ip,
      clientPort: port,
      application: n > Col.App ? col(Col.App) || undefined : undefined,
      backendType: n > Col.Backend ? col(Col.Backend) || undefined : undefined,
      source: this.origin.ref(position),
    })
  }

  /** The way every record once took: split into strings, then checked column by column. */
  private full(text: string, position: number): void {
    const f = this.fields
    const n = splitCsv(text, f)
    if (n < 0) {
      this.origin.dead(text, position, 'broken CSV quoting (text after a closing quote)')
      return
    }
    if (n < 22) {
      this.origin.dead(text, position, `csvlog record has ${n} columns; expected 22, 23, 24 or 26`)
      return
    }
    const time = this.ts.parse(f[Col.Time], 0)
    if (Number.isNaN(time)) {
      this.origin.dead(text, position, `csvlog: bad log_time '${clip(f[Col.Time], 40)}'`)
      return
    }
    const severity = severityOf(f[Col.Severity])
    if (severity === undefined) {
      this.origin.dead(text, position, `csvlog: unknown error_severity '${clip(f[Col.Severity], 20)}'`)
      return
    }
    this.build(position, n, time, severity, (k) => f[k])
  }
}

function isDigits(s: string, from: number): boolean {
  if (from >= s.length) return false
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

function countQuotes(s: string): number {
  let n = 0
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++
  return n
}

/** More columns than any PostgreSQL version writes: the scan stops counting there. */
const COLUMNS_MAX = 64

/**
 * Start index of each column of one complete CSV record (and one past the end, as the start of a
 * column after it), without copying; returns the column count, or -1 on bad quoting (as
 * splitCsv) or more than COLUMNS_MAX columns. `balanced`: also -1 when an unquoted column holds
 * a quote, so that a record it accepts has an even number of quotes (the test `push` makes to
 * tell whether a line continues on the next).
 */
export function scanCsv(s: string, starts: Int32Array, balanced: boolean): number {
  let n = 0
  let i = 0
  const len = s.length
  let quote = balanced ? s.indexOf('"') : -1 // the next quote at or after i (balanced only)
  for (;;) {
    if (n >= COLUMNS_MAX) return -1
    starts[n++] = i
    if (s.charCodeAt(i) === 34) {
      let st = i + 1
      for (;;) {
        const q = s.indexOf('"', st)
        if (q < 0) return -1
        if (s.charCodeAt(q + 1) === 34) {
          st = q + 2
          continue
        }
        i = q + 1
        break
      }
      if (i >= len) break
      if (s.charCodeAt(i) !== 44) return -1
      i++
      if (balanced) quote = s.indexOf('"', i)
    } else {
      // empty columns (most of a csvlog line) without a call
      const c = s.charCodeAt(i) === 44 ? i : s.indexOf(',', i)
      if (quote >= 0 && (c < 0 || quote < c)) return -1 // a quote inside an unquoted column
      if (c < 0) {
        i = len
        break
      }
      i = c + 1
    }
  }
  starts[n] = i + 1
  return n
}

/**
 * Column k of a record scanned into `starts`, unquoted ("" inside quotes is one quote), as
 * splitCsv gives it (exported for the tests).
 */
export function column(s: string, starts: Int32Array, k: number): string {
  const a = starts[k]
  const end = starts[k + 1] - 1
  if (s.charCodeAt(a) !== 34) return s.slice(a, end)
  const v = s.slice(a + 1, end - 1)
  return s.indexOf('"', a + 1) < end - 1 ? v.replaceAll('""', '"') : v
}

/** Splits one complete CSV record into `out` (reused); returns the column count, or -1 on bad quoting. */
export function splitCsv(s: string, out: string[]): number {
  let n = 0
  let i = 0
  const len = s.length
  for (;;) {
    if (s.charCodeAt(i) === 34) {
      // quoted: "" is an escaped quote
      let v = ''
      let st = i + 1
      for (;;) {
        const q = s.indexOf('"', st)
        if (q < 0) return -1
        if (s.charCodeAt(q + 1) === 34) {
          v += s.slice(st, q + 1)
          st = q + 2
          continue
        }
        v += s.slice(st, q)
        i = q + 1
        break
      }
      out[n++] = v
      if (i >= len) return n
      if (s.charCodeAt(i) !== 44) return -1
      i++
    } else {
      let c = s.indexOf(',', i)
      if (c < 0) c = len
      out[n++] = s.slice(i, c)
      if (c >= len) return n
      i = c + 1
    }
  }
}
