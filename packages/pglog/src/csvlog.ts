// csvlog: one CSV record per event; quoted fields may span physical lines.
// Column sets: 22 (PG 8.4), 23 (+application_name, 9.0-12), 24 (+backend_type, 13), 26 (+leader_pid, query_id, 14+).

import type { LogRecord } from '@connrca/contracts'
import { clip, type Origin, type RecordFilter } from './common.js'
import { severityOf } from './severity.js'
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
          this.record(text, pos)
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
    this.record(line, position)
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
   * The relevance filter's view of a record, from one quote-aware pass over it that copies
   * nothing: true when it is a well-formed record (what `record` would not dead-letter) that the
   * filter rejects. Anything unusual (quoted or bad time, unknown severity, escaped quotes at the
   * start of the message) goes the full way.
   */
  private skippable(text: string): boolean {
    const st = this.starts
    const n = scanCsv(text, st)
    if (n < 22) return false
    const timeEnd = st[Col.Time + 1] - 1
    if (Number.isNaN(this.ts.parse(text, 0)) || this.ts.end !== timeEnd) return false
    const s0 = st[Col.Severity]
    const sevText = text.slice(s0, st[Col.Severity + 1] - 1)
    const severity = severityOf(sevText)
    if (severity === undefined) return false
    const q0 = st[Col.State]
    const q1 = st[Col.State + 1] - 1
    if (text.charCodeAt(q0) === 34) return false
    const sqlstate = q1 === q0 ? undefined : text.slice(q0, q1)
    let m = st[Col.Message]
    if (text.charCodeAt(m) === 34) m++
    if (text.charCodeAt(m) === 34) return false // the message starts with an escaped quote
    return !(this.relevant as RecordFilter)(severity, text, m, sqlstate)
  }

  private record(text: string, position: number): void {
    if (this.relevant !== undefined && this.skippable(text)) {
      this.origin.irrelevant++
      return
    }
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
    const from = f[Col.From]
    let ip: string | undefined
    let port: number | undefined
    if (from !== '' && from !== '[local]') {
      const c = from.lastIndexOf(':')
      if (c > 0 && isDigits(from, c + 1)) {
        ip = from.slice(0, c)
        port = Number(from.slice(c + 1))
      } else ip = from
    }
    const iq = f[Col.InternalQuery]
    const ctx = f[Col.Context]
    const pid = f[Col.Pid]
    this.emit({
      id: this.origin.id(position),
      server: this.origin.server,
      time,
      severity,
      message: f[Col.Message],
      sqlstate: f[Col.State] || undefined,
      detail: f[Col.Detail] || undefined,
      hint: f[Col.Hint] || undefined,
      context: iq ? (ctx ? `${ctx}\ninternal query: ${iq}` : `internal query: ${iq}`) : ctx || undefined,
      statement: f[Col.Query] || undefined,
      pid: pid === '' ? undefined : Number(pid),
      sessionId: f[Col.Session] || undefined,
      user: f[Col.User] || undefined,
      database: f[Col.Db] || undefined,
      clientIp: ip,
      clientPort: port,
      application: n > Col.App ? f[Col.App] || undefined : undefined,
      backendType: n > Col.Backend ? f[Col.Backend] || undefined : undefined,
      source: this.origin.ref(position),
    })
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
 * splitCsv) or more than COLUMNS_MAX columns.
 */
export function scanCsv(s: string, starts: Int32Array): number {
  let n = 0
  let i = 0
  const len = s.length
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
    } else {
      const c = s.indexOf(',', i)
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
