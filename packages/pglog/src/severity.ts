import type { Severity } from '@connrca/contracts'

/** Severity words PostgreSQL writes, mapped onto the contract's enum (DEBUG1..5 -> DEBUG); exported for the tests. */
export const WORDS: Record<string, Severity> = {
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
  // lc_messages = de_DE: PostgreSQL translates the severity words too (csvlog and jsonlog as well)
  FEHLER: 'ERROR',
  WARNUNG: 'WARNING',
  HINWEIS: 'NOTICE',
  PANIK: 'PANIC',
  TIPP: 'HINT',
  ZUSAMMENHANG: 'CONTEXT',
  ANWEISUNG: 'STATEMENT',
  ANFRAGE: 'QUERY',
  ORT: 'LOCATION',
}

export function severityOf(word: string): Severity | undefined {
  // own keys only: a level of "__proto__" or "toString" must not come back as Object.prototype's
  return Object.hasOwn(WORDS, word) ? WORDS[word] : undefined
}

/** severityOf(s.slice(from, to)) without the slice. */
export function severityAt(s: string, from: number, to: number): Severity | undefined {
  return wordAt(s, from, to - from)
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
    const lim = Math.min(s.length, pos + 13)
    while (i < lim) {
      const c = s.charCodeAt(i)
      if ((c >= 65 && c <= 90) || (c >= 48 && c <= 57 && i > pos)) i++
      else break
    }
    const len = i - pos
    if (len < 3 || s.charCodeAt(i) !== 58) return false
    const sev = wordAt(s, pos, len)
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

/** Severity word at s[pos, pos+len) without slicing: dispatch on length and first letter, then compare. */
function wordAt(s: string, pos: number, len: number): Severity | undefined {
  const c = s.charCodeAt(pos)
  switch (len) {
    case 3:
      if (c === 79) return s.startsWith('ORT', pos) ? 'LOCATION' : undefined
      return c === 76 && s.startsWith('LOG', pos) ? 'LOG' : undefined
    case 4:
      if (c === 73) return s.startsWith('INFO', pos) ? 'INFO' : undefined
      if (c === 84) return s.startsWith('TIPP', pos) ? 'HINT' : undefined
      return c === 72 && s.startsWith('HINT', pos) ? 'HINT' : undefined
    case 5:
      if (c === 70) return s.startsWith('FATAL', pos) ? 'FATAL' : undefined
      if (c === 69) return s.startsWith('ERROR', pos) ? 'ERROR' : undefined
      if (c === 80) return s.startsWith('PANIC', pos) || s.startsWith('PANIK', pos) ? 'PANIC' : undefined
      if (c === 81) return s.startsWith('QUERY', pos) ? 'QUERY' : undefined
      return c === 68 && s.startsWith('DEBUG', pos) ? 'DEBUG' : undefined
    case 6:
      if (c === 68) {
        if (s.startsWith('DETAIL', pos)) return 'DETAIL'
        return s.startsWith('DEBUG', pos) && s.charCodeAt(pos + 5) >= 49 && s.charCodeAt(pos + 5) <= 53
          ? 'DEBUG'
          : undefined
      }
      if (c === 70) return s.startsWith('FEHLER', pos) ? 'ERROR' : undefined
      return c === 78 && s.startsWith('NOTICE', pos) ? 'NOTICE' : undefined
    case 7:
      if (c === 87 && s.startsWith('WARNUNG', pos)) return 'WARNING'
      if (c === 72) return s.startsWith('HINWEIS', pos) ? 'NOTICE' : undefined
      if (c === 65) return s.startsWith('ANFRAGE', pos) ? 'QUERY' : undefined
      if (c === 87) return s.startsWith('WARNING', pos) ? 'WARNING' : undefined
      return c === 67 && s.startsWith('CONTEXT', pos) ? 'CONTEXT' : undefined
    case 8:
      return c === 76 && s.startsWith('LOCATION', pos) ? 'LOCATION' : undefined
    case 9:
      if (c === 65) return s.startsWith('ANWEISUNG', pos) ? 'STATEMENT' : undefined
      return c === 83 && s.startsWith('STATEMENT', pos) ? 'STATEMENT' : undefined
    case 12:
      return c === 90 && s.startsWith('ZUSAMMENHANG', pos) ? 'CONTEXT' : undefined
  }
  return undefined
}

function isStateCode(s: string, i: number): boolean {
  for (let k = i; k < i + 5; k++) {
    const c = s.charCodeAt(k)
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90))) return false
  }
  return true
}
