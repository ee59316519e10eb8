// Format and log_line_prefix detection from the first lines of an input.

import type { LogFormat } from '@connrca/contracts'
import { loosePrefix } from './loose-prefix.js'
import { compilePrefix, PrefixFields, type PrefixMatcher } from './prefix.js'
import { SeverityScan } from './severity.js'
import { markerStart, parseSyslogFrame, SyslogFrame } from './syslog.js'
import { TimestampParser } from './timestamp.js'

/** Prefixes tried when none is configured, most common first (ties go to the earlier one). */
export const KNOWN_PREFIXES: readonly string[] = [
  '%m [%p] %q%u@%d ', // Debian / Ubuntu packages
  '%m [%p] ', // PostgreSQL default since 10
  // Azure Database for PostgreSQL, Single Server and Flexible Server alike (Microsoft's server
  // parameter reference lists it for both); `%c` ends in the hex pid
  '%t-%c-',
  '%m [%p] %q[user=%u,db=%d,app=%a] ', // a common user=/db=/app= layout
  '%t:%r:%u@%d:[%p]:', // Amazon RDS / Aurora
  '%t:%h:%u@%d:[%p]:',
  '%m [%p-%l] %q%u@%d ',
  '%t [%p-%l] %q%u@%d ',
  '%t [%p]: [%l-1] %quser=%u,db=%d,app=%a,client=%h ',
  '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
  '%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a ',
  '%t [%p]: [%l-1] user=%u,db=%d ',
  '%t [%p]: [%l-1] db=%d,user=%u ',
  '%t [%p]: [%l-1] ',
  '%t [%p]: db=%d,user=%u,app=%a,client=%h ',
  '%m [%p] user=%u,db=%d ',
  '%t [%p]: ',
  '%t [%p] ',
  'db=%d,user=%u,app=%a,client=%h ',
  'user=%u,db=%d,app=%a,client=%h ', // common with syslog, where the frame carries the time
  ' sql_error_code = %e ', // Heroku Postgres (logplex)
  '[%p]: [%l-1] db=%d,user=%u ',
  '%m ',
  '%t ',
]

let compiled: PrefixMatcher[] | undefined
export function knownMatchers(): PrefixMatcher[] {
  compiled ??= KNOWN_PREFIXES.map(compilePrefix)
  return compiled
}

export interface Detected {
  format: Exclude<LogFormat, 'auto'>
  prefix?: string
}

const AZURE_KEYS = [
  'errorLevel_s',
  'ErrorLevel',
  'LogicalServerName_s',
  'LogicalServerName',
  '_ResourceId',
  'TimeGenerated',
]

/** Decides the format (and for text formats the log_line_prefix) from sample lines. */
export function detectFormat(lines: string[]): Detected {
  const sample = lines.filter((l) => l.length > 0 && l.charCodeAt(0) !== 9 && l.charCodeAt(0) !== 32).slice(0, 50)
  if (sample.length === 0) return { format: 'stderr' }
  const ts = new TimestampParser()
  const votes = { json: 0, azure: 0, csv: 0, syslog: 0, text: 0 }
  const frame = new SyslogFrame()
  const bodies: string[] = []
  for (const l of sample) {
    if (l.charCodeAt(0) === 123) {
      try {
        const o = JSON.parse(l) as Record<string, unknown>
        if (AZURE_KEYS.some((k) => k in o)) votes.azure++
        else votes.json++
      } catch {
        votes.json += 0.5
      }
      continue
    }
    const off = l.charCodeAt(0) === 34 ? 1 : 0
    const t = ts.parse(l, off)
    if (!Number.isNaN(t) && l.charCodeAt(ts.end + off) === 44) {
      votes.csv++
      continue
    }
    // an RFC 3339 time ('T' at 10) starts a syslog frame (rsyslog's ForwardFormat, logplex), never a stderr prefix
    if ((Number.isNaN(t) || l.charCodeAt(off + 10) === 84) && parseSyslogFrame(l, frame, ts, 2000)) {
      votes.syslog++
      const b = syslogBody(l, frame)
      if (b !== undefined) bodies.push(b)
      continue
    }
    votes.text++
  }
  const best = (Object.keys(votes) as (keyof typeof votes)[]).reduce((a, b) => (votes[b] > votes[a] ? b : a))
  switch (best) {
    case 'json':
      return { format: 'jsonlog' }
    case 'azure':
      return { format: 'azure' }
    case 'csv':
      return { format: 'csvlog' }
    case 'syslog':
      return { format: 'syslog', prefix: detectPrefix(bodies) }
    default:
      return { format: 'stderr', prefix: detectPrefix(sample) }
  }
}

/** The text after a parsed syslog frame's header and `[n-1]` marker; undefined for further chunks `[n-2..]`. */
function syslogBody(l: string, frame: SyslogFrame): string | undefined {
  let b = markerStart(l, frame.body)
  const m = /^\[\d+-(\d+)\] ?/.exec(l.slice(b, b + 24))
  if (m) {
    if (m[1] !== '1') return undefined
    b += m[0].length
  }
  return l.slice(b)
}

/**
 * The lines prefix detection looks at for an input of a given text format: for syslog the
 * messages past their headers, for stderr the lines that are no continuation.
 */
export function prefixSample(format: 'stderr' | 'syslog', lines: string[]): string[] {
  const sample = lines.filter((l) => l.length > 0 && l.charCodeAt(0) !== 9 && l.charCodeAt(0) !== 32).slice(0, 50)
  if (format === 'stderr') return sample
  const ts = new TimestampParser()
  const frame = new SyslogFrame()
  const bodies: string[] = []
  for (const l of sample) {
    if (!parseSyslogFrame(l, frame, ts, 2000)) continue
    const b = syslogBody(l, frame)
    if (b !== undefined) bodies.push(b)
  }
  return bodies
}

/** The known prefix matching most lines; undefined when none matches at least half (=> loose matching). */
export function detectPrefix(lines: string[]): string | undefined {
  const ranked = rankPrefixes(lines)
  return ranked.length > 0 && ranked[0].hits * 2 >= lines.length ? ranked[0].matcher.prefix : undefined
}

/** Known prefixes that match at least one of the lines, best first. */
export function rankPrefixes(lines: string[]): { matcher: PrefixMatcher; hits: number }[] {
  const f = new PrefixFields()
  const ts = new TimestampParser()
  const sev = new SeverityScan()
  const out: { matcher: PrefixMatcher; hits: number }[] = []
  for (const m of knownMatchers()) {
    let hits = 0
    for (const l of lines) {
      const e = m.match(l, 0, f, ts, sev)
      if (e >= 0 && sev.scan(l, e)) hits++
    }
    if (hits > 0) out.push({ matcher: m, hits })
  }
  return out.sort((a, b) => b.hits - a.hits)
}

/** Matchers for an input whose prefix was not configured: the detected one first, then other candidates, then loose. */
export function fallbackMatchers(lines: string[], chosen?: string): PrefixMatcher[] {
  const ranked = rankPrefixes(lines).map((r) => r.matcher)
  const first = chosen !== undefined ? compilePrefix(chosen) : (ranked[0] ?? loosePrefix)
  const rest = ranked.filter((m) => m.prefix !== first.prefix)
  return [first, ...rest, loosePrefix]
}
