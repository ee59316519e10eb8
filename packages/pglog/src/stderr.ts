// stderr / plain-text logs: "<log_line_prefix>SEVERITY:  message", with continuation lines joined.

import type { LogRecord } from '@connrca/contracts'
import { AsciiPrefix, NO_PREFIX, NOT_LET_GO } from './ascii-line.js'
import type { Origin, RecordFilter } from './common.js'
import { Joiner } from './join.js'
import { latin1 } from './line-splitter.js'
import { PrefixFields, type PrefixMatcher } from './prefix.js'
import { isContinuation, SeverityScan } from './severity.js'
import { TimestampParser } from './timestamp.js'

export class TextLogParser {
  readonly joiner: Joiner
  private readonly f = new PrefixFields()
  private readonly ts = new TimestampParser()
  private readonly sev = new SeverityScan()
  /** the configured prefix read from bytes, when it and the filter allow it */
  private readonly ascii: AsciiPrefix | undefined

  /** `matchers[0]` is the configured prefix; the rest are tried for lines it does not match. */
  constructor(
    private readonly origin: Origin,
    private readonly matchers: PrefixMatcher[],
    emit: (r: LogRecord) => void,
    private readonly relevant: RecordFilter | undefined = undefined,
    /** the time a line arrived (live sources), for prefixes without a timestamp */
    private readonly arrivalTime: (() => number) | undefined = undefined,
  ) {
    this.joiner = new Joiner(emit)
    this.ascii = AsciiPrefix.of(matchers[0], relevant?.logStart)
  }

  get prefix(): string {
    return this.matchers[0].prefix
  }

  push(line: string, position: number): void {
    if (line.length === 0) return
    const arrived = this.arrivalTime === undefined ? Number.NaN : this.arrivalTime()
    if (!this.entry(line, 0, position, arrived, -1, undefined))
      this.origin.dead(line, position, `line does not match log_line_prefix '${this.matchers[0].prefix}'`)
  }

  /**
   * push() for the ASCII lines of a chunk given as bytes (LogParser.pushAscii). The configured
   * prefix is read from each line's bytes first: a line the filter lets go needs no string, and
   * for the others the text path starts after the prefix with what the bytes gave. All lines of
   * the chunk are read (and decoded where needed) before the first is taken: each loop keeps its
   * code in the CPU's instruction cache, as LineSplitter.feed does.
   */
  pushAscii(b: Buffer, spans: readonly number[], pos: number): void {
    const a = this.ascii
    const results = this.results
    const texts = this.texts
    const found = this.found
    const n = spans.length >> 1
    for (let i = 0; i < n; i++) {
      const start = spans[2 * i]
      const end = spans[2 * i + 1]
      const r = a === undefined ? NO_PREFIX : a.read(b, start, end, found)
      results[i] = r
      texts[i] = r >= -1 ? '' : latin1(b, start, end)
    }
    let at = 0
    for (let i = 0; i < n; i++) {
      const position = pos + spans[2 * i]
      const r = results[i]
      if (r >= -1) {
        // as entry() does for a record the filter rejects
        this.joiner.skip(r >= 0 ? r : '', position)
        if (position > this.origin.countAfter) this.origin.irrelevant++
      } else if (r === NO_PREFIX) this.push(texts[i], position)
      else {
        const line = texts[i]
        if (this.prefixFound(line, a!, at)) this.take(line, position, Number.NaN, -1, undefined, this.matchers[0])
        else this.push(line, position)
        at += 3 + 2 * a!.kept.length
      }
    }
    results.length = 0
    texts.length = 0
    found.length = 0
  }

  /** pushAscii's chunk: each line's read() result, its text (not for lines let go), what read() found */
  private readonly results: number[] = []
  private readonly texts: string[] = []
  private readonly found: number[] = []

  /** What matchers[0].match fills from `line`, from what `a` found in its bytes at `at`; then the severity. */
  private prefixFound(line: string, a: AsciiPrefix, at: number): boolean {
    const f = this.f
    const found = this.found
    f.reset()
    f.pid = found[at + 1]
    f.time = this.ts.parse(line, found[at + 2])
    const kept = a.kept
    for (let j = 0; j < kept.length; j++) f.note(line, kept[j], found[at + 3 + 2 * j], found[at + 4 + 2 * j])
    return this.sev.scan(line, found[at])
  }

  flush(): void {
    this.joiner.flush()
  }

  settle(): void {
    this.joiner.settle()
  }

  /**
   * Parses the text starting at `start`. `time`/`pid`/`server` come from an outer frame (syslog) and fill
   * what the prefix does not carry. Returns false when the text matches no prefix and is no continuation;
   * the caller decides what that means. Other failures are dead-lettered here.
   * `continuesLast`: text led by a tab or space that `matchers[0]` does not match continues the
   * record written last (physical lines of a stderr log). Syslog passes false and gets false back
   * for such text: every syslog message has its own header and process, so SyslogParser decides
   * what continues which process's record.
   */
  entry(
    line: string,
    start: number,
    position: number,
    time: number,
    pid: number,
    server: string | undefined,
    continuesLast = true,
  ): boolean {
    const f = this.f
    const sev = this.sev
    let m = this.matchers[0]
    let end = m.match(line, start, f, this.ts, sev)
    if (end < 0 || !sev.scan(line, end)) {
      const c0 = line.charCodeAt(start)
      if (c0 === 9 || c0 === 32) {
        // PostgreSQL starts every further line of a multi-line message with a tab; only the
        // log's own prefix (one starting with a space, like Heroku's) makes such a line a record
        if (!continuesLast) return false
        if (!this.joiner.continueLine(line.slice(c0 === 9 ? start + 1 : start), true))
          this.origin.dead(line, position, 'continuation line with no open record before it', server)
        return true
      }
      let k = 1
      for (; k < this.matchers.length; k++) {
        m = this.matchers[k]
        end = m.match(line, start, f, this.ts, sev)
        if (end >= 0 && sev.scan(line, end)) break
      }
      if (k === this.matchers.length) return false
    }
    return this.take(line, position, time, pid, server, m)
  }

  /** entry() once a prefix matched: `this.f` holds its values, `this.sev` the severity after it. */
  private take(
    line: string,
    position: number,
    time: number,
    pid: number,
    server: string | undefined,
    m: PrefixMatcher,
  ): true {
    const f = this.f
    const sev = this.sev
    if (f.pid < 0 && pid >= 0) f.pid = pid
    const t = Number.isNaN(f.time) ? time : f.time
    const key = f.pid >= 0 ? f.pid : (f.sessionId ?? '')
    const severity = sev.severity
    if (isContinuation(severity)) {
      if (this.joiner.absorbs(key)) return true // a DETAIL of a record that was not built
      if (this.joiner.attach(key, severity, line.slice(sev.msgStart))) return true
    }
    if (Number.isNaN(t)) {
      this.origin.dead(
        line,
        position,
        `no timestamp in line (log_line_prefix '${m.prefix}' has no %m, %t or %n)`,
        server,
      )
      return true
    }
    const sqlstate = sev.sqlstate ?? f.sqlstate
    if (this.relevant !== undefined && !this.relevant(severity, line, sev.msgStart, sqlstate)) {
      this.joiner.skip(key, position)
      if (position > this.origin.countAfter) this.origin.irrelevant++
      return true
    }
    f.resolve()
    const rec: LogRecord = {
      id: this.origin.id(position),
      server: server ?? this.origin.server,
      time: t,
      severity,
      message: line.slice(sev.msgStart),
      sqlstate,
      detail: undefined,
      hint: undefined,
      context: undefined,
      statement: undefined,
      pid: f.pid >= 0 ? f.pid : undefined,
      sessionId: f.sessionId,
      user: f.user,
      database: f.database,
      clientIp: f.clientIp,
      clientPort: f.clientPort >= 0 ? f.clientPort : undefined,
      application: f.application,
      backendType: f.backendType,
      source: this.origin.ref(position),
    }
    this.joiner.start(key, rec)
    return true
  }
}
