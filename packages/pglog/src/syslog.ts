// syslog-framed PostgreSQL lines: RFC 3164 ("<pri>Mon DD HH:MM:SS host postgres[pid]: [n-m] text", the <pri>
// usually absent in files) and RFC 5424 ("<pri>1 2026-03-02T10:02:03Z host postgres pid - - [n-m] text").
// [n-1] starts line n; [n-2..] are further lines of the same message (own prefix, or a tab continuation) or
// the pieces PostgreSQL split a long line into (no prefix, glued without newline).

import type { LogRecord } from '@connrca/contracts'
import type { Origin, RecordFilter } from './common.js'
import type { PrefixMatcher } from './prefix.js'
import { TextLogParser } from './stderr.js'
import { TimestampParser } from './timestamp.js'

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
}

/** The parts of a syslog frame the parser needs; reused across lines. */
export class SyslogFrame {
  time = Number.NaN
  host = ''
  tag = ''
  pid = -1
  /** index of the message text after the header */
  body = 0
}

/** RFC 3164 timestamps have no year: the caller's year, else the current one (last year if that is in the future). */
function year3164(month: number, day: number, fixed: number | undefined): number {
  if (fixed !== undefined) return fixed
  const now = new Date()
  const y = now.getUTCFullYear()
  return Date.UTC(y, month, day) > now.getTime() + 86_400_000 ? y - 1 : y
}

export function parseSyslogFrame(s: string, f: SyslogFrame, ts: TimestampParser, year?: number): boolean {
  let i = 0
  if (s.charCodeAt(0) === 60) {
    const gt = s.indexOf('>', 1)
    if (gt < 2 || gt > 4) return false
    i = gt + 1
  }
  if (s.charCodeAt(i) === 49 && s.charCodeAt(i + 1) === 32) {
    // RFC 5424: VERSION SP TIMESTAMP SP HOST SP APP SP PROCID SP MSGID SP SD [SP MSG]
    i += 2
    const tsEnd = s.indexOf(' ', i)
    if (tsEnd < 0) return false
    f.time = s.charCodeAt(i) === 45 ? Number.NaN : ts.parse(s, i)
    if (Number.isNaN(f.time)) f.time = Date.parse(s.slice(i, tsEnd))
    const parts: string[] = []
    let p = tsEnd + 1
    for (let k = 0; k < 4; k++) {
      let e = s.indexOf(' ', p)
      if (e < 0) e = s.length
      parts.push(s.slice(p, e))
      p = e + 1
    }
    f.host = parts[0] === '-' ? '' : parts[0]
    f.tag = parts[1]
    f.pid = /^\d+$/.test(parts[2]) ? Number(parts[2]) : -1
    // structured data after MSGID: "-" or one or more [..] elements
    if (s.charCodeAt(p) === 91) {
      while (s.charCodeAt(p) === 91) {
        let e = p + 1
        for (; e < s.length; e++) {
          const c = s.charCodeAt(e)
          if (c === 92) e++
          else if (c === 93) break
        }
        p = e + 1
      }
    } else p += 1
    if (s.charCodeAt(p) === 32) p++
    if (s.startsWith('\ufeff', p)) p++
    f.body = Math.min(p, s.length)
    return !Number.isNaN(f.time)
  }
  // RFC 3339 time in an RFC 3164 header: rsyslog's RSYSLOG_ForwardFormat
  // ("2026-12-02T19:00:04.685123+00:00 host tag[pid]: ") and Heroku's logplex, which has no host
  // ("2019-03-14T00:22:56+00:00 app[postgres.4882]: ")
  if (isDigit(s.charCodeAt(i)) && s.charCodeAt(i + 4) === 45 && s.charCodeAt(i + 10) === 84) {
    const tsEnd = s.indexOf(' ', i)
    if (tsEnd < 0) return false
    f.time = Date.parse(s.slice(i, tsEnd))
    if (Number.isNaN(f.time)) return false
    i = tsEnd + 1
    // `[host] tag[pid]: ` or, in logplex drains, `[host] app[postgres.N] ` without the colon
    f.host = ''
    for (let n = 0; n < 2; n++) {
      const sp = s.indexOf(' ', i)
      if (sp < 0) return false
      const colon = s.charCodeAt(sp - 1) === 58
      const end = colon ? sp - 1 : sp
      if (colon || s.charCodeAt(end - 1) === 93) {
        tagAndPid(s, i, end, f)
        f.body = sp + 1
        return true
      }
      if (n === 0) {
        f.host = s.slice(i, sp)
        i = sp + 1
      }
    }
    return false
  }
  // RFC 3164: "Mmm dd hh:mm:ss host tag[pid]: "
  const month = MONTHS[s.slice(i, i + 3)]
  if (month === undefined || s.charCodeAt(i + 3) !== 32) return false
  const day = (s.charCodeAt(i + 4) === 32 ? 0 : (s.charCodeAt(i + 4) - 48) * 10) + s.charCodeAt(i + 5) - 48
  const h = (s.charCodeAt(i + 7) - 48) * 10 + s.charCodeAt(i + 8) - 48
  const mi = (s.charCodeAt(i + 10) - 48) * 10 + s.charCodeAt(i + 11) - 48
  const se = (s.charCodeAt(i + 13) - 48) * 10 + s.charCodeAt(i + 14) - 48
  if (!(day >= 1 && day <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && se >= 0 && se < 61)) return false
  f.time = Date.UTC(year3164(month, day, year), month, day, h, mi, se)
  i += 16
  const hostEnd = s.indexOf(' ', i)
  if (hostEnd < 0) return false
  f.host = s.slice(i, hostEnd)
  i = hostEnd + 1
  const tagEnd = s.indexOf(': ', i)
  if (tagEnd < 0) return false
  tagAndPid(s, i, tagEnd, f)
  f.body = tagEnd + 2
  return true
}

/** `tag[pid]` in s[i, end): `postgres[4711]`, or logplex's `app[postgres.4882]` (pid after the dot). */
function tagAndPid(s: string, i: number, end: number, f: SyslogFrame): void {
  const br = s.indexOf('[', i)
  if (br > 0 && br < end && s.charCodeAt(end - 1) === 93) {
    f.tag = s.slice(i, br)
    const inner = s.slice(br + 1, end - 1)
    f.pid = Number(inner.slice(inner.lastIndexOf('.') + 1))
    if (!Number.isInteger(f.pid) || inner === '') f.pid = -1
  } else {
    f.tag = s.slice(i, end)
    f.pid = -1
  }
}

export class SyslogParser {
  private readonly text: TextLogParser
  private readonly frame = new SyslogFrame()
  private readonly ts = new TimestampParser()

  constructor(
    private readonly origin: Origin,
    matchers: PrefixMatcher[],
    emit: (r: LogRecord) => void,
    private readonly server: string | undefined,
    private readonly year?: number,
    relevant?: RecordFilter,
  ) {
    this.text = new TextLogParser(origin, matchers, emit, relevant)
  }

  push(line: string, position: number): void {
    if (line.length === 0) return
    const f = this.frame
    if (!parseSyslogFrame(line, f, this.ts, this.year)) {
      this.origin.dead(line, position, 'not a syslog line (RFC 3164 or 5424 header expected)')
      return
    }
    const server = this.server ?? (f.host || undefined)
    let b = markerStart(line, f.body)
    let chunk = 1
    // Where the body starts if a bare "[n]" is no marker but the prefix's own "[%p]" (markers off)
    let bare = -1
    // "[seq-chunk] " (syslog_sequence_numbers = on) or "[chunk] " (off)
    if (line.charCodeAt(b) === 91) {
      let j = b + 1
      let n = 0
      for (let c = line.charCodeAt(j) - 48; c >= 0 && c <= 9; c = line.charCodeAt(++j) - 48) n = n * 10 + c
      if (j > b + 1 && line.charCodeAt(j) === 93) {
        chunk = n
        bare = b
        b = j + 1
        if (line.charCodeAt(b) === 32) b++
      } else if (j > b + 1 && line.charCodeAt(j) === 45) {
        let k = j + 1
        let m = 0
        for (let c = line.charCodeAt(k) - 48; c >= 0 && c <= 9; c = line.charCodeAt(++k) - 48) m = m * 10 + c
        if (k > j + 1 && line.charCodeAt(k) === 93) {
          chunk = m
          b = k + 1
          if (line.charCodeAt(b) === 32) b++
        }
      }
    }
    const key = f.pid >= 0 ? f.pid : ''
    // A further line of a multi-line message starts with PostgreSQL's tab (rsyslog writes it as
    // "#011"): it continues the open record of the same process, never whatever record came last.
    const tab = line.startsWith('#011', b) ? 4 : line.charCodeAt(b) === 9 ? 1 : 0
    if (tab > 0) {
      if (!this.text.joiner.continueKey(key, line.slice(b + tab), true))
        this.origin.dead(line, position, `syslog continuation line with no open record of process ${f.pid}`, server)
      return
    }
    // Anything else is a record of its own (own prefix: a new report or its DETAIL/HINT/... line);
    // a body led by a space is no continuation here (it would be in a stderr log).
    if (this.text.entry(line, b, position, f.time, f.pid, server, false)) return
    if (bare >= 0 && this.text.entry(line, bare, position, f.time, f.pid, server, false)) return
    // [n-2..] that is no line of its own: a piece of a long line PostgreSQL split at a word
    // boundary (the piece keeps the space it starts with), glued on without a newline
    if (chunk > 1) {
      if (!this.text.joiner.continueKey(key, line.slice(b), false))
        this.origin.dead(
          line,
          position,
          `syslog continuation [-${chunk}] with no open record of process ${f.pid}`,
          server,
        )
      return
    }
    this.origin.dead(
      line,
      position,
      `syslog message from '${f.tag}' does not match log_line_prefix '${this.text.prefix}'`,
      server,
    )
  }

  flush(): void {
    this.text.flush()
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/**
 * Where the `[n-m]` marker starts, past what relays put before it: the space rsyslog's
 * RSYSLOG_SyslogProtocol23Format keeps from the message (`- -  [6-1]`), and logplex's database
 * tag (`[GREEN] [15-1]`). Without a marker there, the body is left as it is.
 */
export function markerStart(s: string, b: number): number {
  let k = b
  while (s.charCodeAt(k) === 32) k++
  if (s.charCodeAt(k) === 91 && !isDigit(s.charCodeAt(k + 1))) {
    const close = s.indexOf('] [', k)
    if (close > k && close < k + 64) k = close + 2
  }
  return s.charCodeAt(k) === 91 && isDigit(s.charCodeAt(k + 1)) ? k : b
}
