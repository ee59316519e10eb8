// Fallback for stderr logs whose log_line_prefix is unknown: a timestamp (or '[') at the start, then
// anything up to the first "SEVERITY:" word. Pulls out what common prefixes carry: [pid], [pid-line],
// user=/db=/app=/client=/host= pairs and user@db.

import type { PrefixFields, PrefixMatcher } from './prefix.js'
import type { SeverityScan } from './severity.js'
import type { TimestampParser } from './timestamp.js'

const MAX_PREFIX = 400

/**
 * Without a timestamp the line must start with `[`: in a stderr log a line that has neither is
 * more likely a stray continuation than a record.
 */
export const loosePrefix: PrefixMatcher = looseMatcher(true)

/** In syslog the frame carries the time, and the message after `[n-m]` may start with anything. */
export const syslogLoosePrefix: PrefixMatcher = looseMatcher(false)

function looseMatcher(anchored: boolean): PrefixMatcher {
  return {
    prefix: '',
    keyed: true,
    match(s: string, pos: number, out: PrefixFields, ts: TimestampParser, sev: SeverityScan): number {
      out.reset()
      let i = pos
      const t = ts.parse(s, pos)
      if (!Number.isNaN(t)) {
        out.time = t
        i = ts.end
      } else if (anchored && s.charCodeAt(pos) !== 91) return -1
      // find "WORD:" where WORD is a severity and starts a token
      const lim = Math.min(s.length, pos + MAX_PREFIX)
      let sevAt = -1
      for (let c = s.indexOf(':', i); c >= 0 && c < lim; c = s.indexOf(':', c + 1)) {
        let w = c
        while (w > i && isUpper(s.charCodeAt(w - 1))) w--
        while (w < c && isDigit(s.charCodeAt(w))) w++
        if (c - w >= 3 && (w === i || !isAlnum(s.charCodeAt(w - 1))) && sev.scan(s, w)) {
          sevAt = w
          break
        }
      }
      if (sevAt < 0) return -1
      scanFields(s, i, sevAt, out)
      return sevAt
    },
  }
}

function scanFields(s: string, from: number, to: number, out: PrefixFields): void {
  const b = s.indexOf('[', from)
  if (b >= 0 && b < to) {
    let j = b + 1
    let v = 0
    for (let c = s.charCodeAt(j) - 48; c >= 0 && c <= 9; c = s.charCodeAt(++j) - 48) v = v * 10 + c
    if (j > b + 1 && (s.charCodeAt(j) === 93 || s.charCodeAt(j) === 45)) out.pid = v
  }
  const text = s.slice(from, to)
  if (text.indexOf('=') >= 0) {
    out.user = kv(text, 'user=') ?? kv(text, 'usr=')
    out.database = kv(text, 'db=')
    out.application = kv(text, 'app=') ?? kv(text, 'appli=')
    const host = kv(text, 'client=') ?? kv(text, 'host=')
    if (host !== undefined && host !== '[local]') out.clientIp = host
  } else {
    const at = text.lastIndexOf('@')
    if (at > 0) {
      const a = text.lastIndexOf(' ', at) + 1
      let e = text.indexOf(' ', at)
      if (e < 0) e = text.length
      out.user = present(text.slice(a, at))
      out.database = present(text.slice(at + 1, e))
    }
  }
}

function kv(text: string, key: string): string | undefined {
  let k = text.indexOf(key)
  while (k > 0 && isAlnum(text.charCodeAt(k - 1))) k = text.indexOf(key, k + 1)
  if (k < 0) return undefined
  const st = k + key.length
  // `[unknown]` (or a translation of it) is one value, not the `[` of a bracketed field
  if (text.charCodeAt(st) === 91) {
    const close = text.indexOf(']', st)
    if (close > st) return present(text.slice(st, close + 1))
  }
  let e = st
  while (e < text.length) {
    const c = text.charCodeAt(e)
    if (c === 44 || c === 32 || c === 93) break
    e++
  }
  return present(text.slice(st, e))
}

function present(v: string): string | undefined {
  return v === '' || v === '[unknown]' || v === '[unbekannt]' ? undefined : v
}
function isUpper(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57)
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}
function isAlnum(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95
}
