// createParser: one entry point per input; 'auto' buffers the first lines, detects, then replays them.

import type { LogFormat, LogRecord, SourceRef } from '@connrca/contracts'
import { isDeadLetter, parseAzureRow } from './azure.js'
import { Origin, type ParseSink, type RecordFilter } from './common.js'
import { CsvLogParser } from './csvlog.js'
import { detectFormat, detectPrefix, fallbackMatchers, prefixSample } from './detect.js'
import { Joiner } from './join.js'
import { JsonLogParser } from './jsonlog.js'
import { latin1, type OnAsciiLines } from './line-splitter.js'
import { compilePrefix, type PrefixMatcher } from './prefix.js'
import { isContinuation } from './severity.js'
import { TextLogParser } from './stderr.js'
import { syslogLoosePrefix } from './loose-prefix.js'
import { SyslogParser } from './syslog.js'

export interface ParseOptions {
  format: LogFormat
  /** stderr/syslog log_line_prefix; absent => detected from the first lines among known defaults */
  prefix?: string
  /** server name for records (fallback when the log names none); default 'default' */
  server?: string
  source: { kind: SourceRef['kind']; name: string }
  /** year for RFC 3164 syslog timestamps, which have none; default: current year (previous if in the future) */
  syslogYear?: number
  /**
   * Records this rejects (from their first line) are not built, only counted in `irrelevant`:
   * give the classifier's `mayClassify` where only connection records matter. Default: all kept.
   */
  relevant?: RecordFilter
  /** Records at or before this position are not counted in `irrelevant` (read again on resume). */
  countAfter?: number
  /**
   * Live sources: the time a text line arrived, for lines whose prefix has no timestamp and that
   * come without a frame carrying one (a syslog header does). Without it such lines are dead letters.
   */
  arrivalTime?: () => number
}

export interface LogParser {
  /**
   * One physical line without its newline; position = byte offset of the line start (or a
   * sequence number). Its record may come out later: stderr holds records for the multi-line
   * join, jsonlog parses lines in blocks of up to 64. `settle` or `flush` brings them out.
   */
  push(line: string, position: number): void
  /**
   * push() for the ASCII lines of a chunk, as bytes (LineSplitter's `onAscii`): stderr lets the
   * lines the filter rejects go from their bytes; other formats read each line as text.
   */
  pushAscii: OnAsciiLines
  /** emit records held for multi-line join (end of input, or idle) */
  flush(): void
  /**
   * Follow mode, at the current end of the input: emit the records that cannot grow any more
   * (stderr: all but the newest, see Joiner.settle; jsonlog: all). Formats whose continuation lines may come
   * late (syslog chunks, Azure rows) keep waiting for the join window or flush().
   */
  settle(): void
  /** records `ParseOptions.relevant` rejected so far (not built, not emitted) */
  readonly irrelevant: number
}

/** Lines 'auto' looks at before deciding. */
export const DETECT_LINES = 20

export function createParser(opts: ParseOptions, sink: ParseSink): LogParser {
  // a text format without a configured prefix detects it from the first lines, as 'auto' does
  if (opts.format === 'auto' || (opts.prefix === undefined && (opts.format === 'stderr' || opts.format === 'syslog')))
    return new AutoParser(opts, sink)
  return build(opts, sink, opts.format, opts.prefix, [])
}

function build(
  opts: ParseOptions,
  sink: ParseSink,
  format: Exclude<LogFormat, 'auto'>,
  prefix: string | undefined,
  sample: string[],
): LogParser {
  const origin = new Origin(opts.source, opts.server ?? 'default', sink)
  if (opts.countAfter !== undefined) origin.countAfter = opts.countAfter
  const relevant = opts.relevant
  const emit = (r: LogRecord) => {
    // Digits that overflow (a 400-digit pid, 1e999 in JSON) must not leave the parser as NaN/Infinity.
    if (r.pid !== undefined && !Number.isSafeInteger(r.pid)) r.pid = undefined
    if (r.clientPort !== undefined && !Number.isSafeInteger(r.clientPort)) r.clientPort = undefined
    sink.record(r)
  }
  // a configured prefix is strict; without one, other known prefixes and the loose matcher catch the rest
  const matchers = (): PrefixMatcher[] =>
    opts.prefix !== undefined ? [compilePrefix(opts.prefix)] : fallbackMatchers(sample, prefix)
  switch (format) {
    case 'stderr':
      return counted(new TextLogParser(origin, matchers(), emit, relevant, opts.arrivalTime), origin)
    case 'syslog': {
      const m = opts.prefix !== undefined ? matchers() : [...matchers(), syslogLoosePrefix]
      return counted(new SyslogParser(origin, m, emit, opts.server, opts.syslogYear, relevant), origin)
    }
    case 'csvlog':
      return counted(new CsvLogParser(origin, emit, relevant), origin)
    case 'jsonlog':
      return counted(new JsonLogParser(origin, emit, relevant, opts.prefix, opts.server), origin)
    case 'azure':
      return counted(new AzureNdjsonParser(origin, opts, emit), origin)
  }
}

/** pushAscii for parsers that read text: each line decoded and pushed. */
function asText(p: { push(line: string, position: number): void }): OnAsciiLines {
  return (b, spans, pos) => {
    for (let i = 0; i < spans.length; i += 2) p.push(latin1(b, spans[i], spans[i + 1]), pos + spans[i])
  }
}

/** The format parsers count skipped records on their Origin; the LogParser reports them. */
function counted(
  p: {
    push(line: string, position: number): void
    pushAscii?: OnAsciiLines
    flush(): void
    settle?(): void
  },
  origin: Origin,
): LogParser {
  return {
    push: (line, position) => p.push(line, position),
    pushAscii: p.pushAscii !== undefined ? (b, spans, pos) => p.pushAscii!(b, spans, pos) : asText(p),
    flush: () => p.flush(),
    settle: () => p.settle?.(),
    get irrelevant() {
      return origin.irrelevant
    },
  }
}

class AutoParser implements LogParser {
  private buf: string[] = []
  private pos: number[] = []
  private inner: LogParser | undefined

  get irrelevant(): number {
    return this.inner?.irrelevant ?? 0
  }

  /** At the current end of a followed input: decide on the lines there are, then settle. */
  settle(): void {
    if (this.inner === undefined && this.buf.length > 0) this.decide()
    this.inner?.settle()
  }

  constructor(
    private readonly opts: ParseOptions,
    private readonly sink: ParseSink,
  ) {}

  pushAscii(b: Buffer, spans: readonly number[], pos: number): void {
    if (this.inner !== undefined) this.inner.pushAscii(b, spans, pos)
    else asText(this)(b, spans, pos)
  }

  push(line: string, position: number): void {
    if (this.inner !== undefined) {
      this.inner.push(line, position)
      return
    }
    this.buf.push(line)
    this.pos.push(position)
    if (this.buf.length >= DETECT_LINES) this.decide()
  }

  flush(): void {
    if (this.inner === undefined) {
      if (this.buf.length === 0) return
      this.decide()
    }
    this.inner!.flush()
  }

  private decide(): void {
    const fixed = this.opts.format
    const d = fixed === 'auto' ? detectFormat(this.buf) : { format: fixed, prefix: undefined }
    const text = d.format === 'stderr' || d.format === 'syslog'
    const sample = text ? prefixSample(d.format as 'stderr' | 'syslog', this.buf) : []
    const prefix = this.opts.prefix ?? (fixed === 'auto' ? d.prefix : detectPrefix(sample))
    const p = build(this.opts, this.sink, d.format, prefix, sample)
    this.inner = p
    for (let i = 0; i < this.buf.length; i++) p.push(this.buf[i], this.pos[i])
    this.buf = []
    this.pos = []
  }
}

/** NDJSON export of Azure Monitor rows; DETAIL/HINT/... rows join the open record of their process. */
class AzureNdjsonParser {
  private readonly joiner: Joiner

  constructor(
    private readonly origin: Origin,
    private readonly opts: ParseOptions,
    emit: (r: LogRecord) => void,
  ) {
    this.joiner = new Joiner(emit)
  }

  push(line: string, position: number): void {
    if (line.length === 0) return
    let row: unknown
    try {
      row = JSON.parse(line)
    } catch (e) {
      this.origin.dead(line, position, `bad JSON: ${(e as Error).message}`)
      return
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      this.origin.dead(line, position, 'azure line is not a JSON object')
      return
    }
    const r = parseAzureRow(row as Record<string, unknown>, {
      server: this.opts.server,
      source: this.opts.source,
      position,
    })
    if (isDeadLetter(r)) {
      this.origin.dead(line, position, r.reason, r.server)
      return
    }
    const key = `${r.server}/${r.pid ?? ''}`
    if (isContinuation(r.severity) && this.joiner.attach(key, r.severity, r.message)) return
    const relevant = this.opts.relevant
    if (relevant !== undefined && !isContinuation(r.severity) && !relevant(r.severity, r.message, 0, r.sqlstate)) {
      this.joiner.skip(key, position)
      this.origin.irrelevant++
      return
    }
    this.joiner.start(key, r)
  }

  flush(): void {
    this.joiner.flush()
  }
}
