import type { Severity } from '@connrca/contracts'

/** Severity words PostgreSQL writes, mapped onto the contract's enum (DEBUG1..5 -> DEBUG). */
const WORDS: Record<string, Severity> = {
  DEBUG: 'DEBUG',
  DEBUG1: 'DEBUG',
  DEBUG2: 'DEBUG',
  DEBUG3: 'DEBUG',
  DEBUG4: 'DEBUG',
  DEBUG5: 'DEBUG',
  INFO: 'INFO',
  NOTICE: 'NOTICE',
  WARNING: 'WARNING',
  ERROR: 'ERROR',
  LOG: 'LOG',
  FATAL: 'FATAL',
  PANIC: 'PANIC',
  STATEMENT: 'STATEMENT',
  DETAIL: 'DETAIL',
  HINT: 'HINT',
  CONTEXT: 'CONTEXT',
  LOCATION: 'LOCATION',
  QUERY: 'QUERY',
}

export function severityOf(word: string): Severity | undefined {
  return WORDS[word]
}

/** Lines that belong to the preceding report of the same process rather than starting a new record. */
export function isContinuation(sev: Severity): boolean {
  return (
    sev === 'DETAIL' ||
    sev === 'HINT' ||
    sev === 'CONTEXT' ||
    sev === 'STATEMENT' ||
    sev === 'QUERY' ||
    sev === 'LOCATION'
  )
}

/** Result of scanning "SEVERITY:  [SQLSTATE:  ]message" in place; one reused instance per parser. */
export class SeverityScan {
  severity: Severity = 'LOG'
  sqlstate: string | undefined = undefined
  /** index where the message starts */
  msgStart = 0

  /**
   * Matches at `pos`. Cheap rejection first: the word must be 3..9 upper-case letters/digits then ':'.
   * Accepts one or two spaces after the colon (edited logs have one).
   */
  scan(s: string, pos: number): boolean {
    let i = pos
    const lim = Math.min(s.length, pos + 10)
    while (i < lim) {
      const c = s.charCodeAt(i)
      if ((c >= 65 && c <= 90) || (c >= 48 && c <= 57 && i > pos)) i++
      else break
    }
    const len = i - pos
    if (len < 3 || s.charCodeAt(i) !== 58) return false
    const sev = WORDS[s.slice(pos, i)]
    if (sev === undefined) return false
    i++
    if (s.charCodeAt(i) === 32) i++
    if (s.charCodeAt(i) === 32) i++
    this.severity = sev
    this.sqlstate = undefined
    // verbose mode: "FATAL:  28P01: password ..." (5 chars of [0-9A-Z], colon, space)
    if (s.charCodeAt(i + 5) === 58 && s.charCodeAt(i + 6) === 32 && isStateCode(s, i)) {
      this.sqlstate = s.slice(i, i + 5)
      i += 7
    }
    this.msgStart = i
    return true
  }
}

function isStateCode(s: string, i: number): boolean {
  for (let k = i; k < i + 5; k++) {
    const c = s.charCodeAt(k)
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90))) return false
  }
  return true
}
