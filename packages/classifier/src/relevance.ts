import type { Severity } from '@connrca/contracts'
import { mayBeLocalized, mayBeLocalizedStart } from './localized.js'
import { REASONS } from './reasons.js'

/**
 * SQLSTATEs that may mark a connection record whatever its text says (localised messages): the
 * codes of the catalog, and every code of class 08 (connection exception) and 28 (invalid
 * authorization). Derived from `REASONS`, so a reason added to the catalog widens it by itself.
 */
const CATALOG_STATES: ReadonlySet<string> = new Set(
  Object.values(REASONS).flatMap((r) => (r.sqlstate === undefined ? [] : [r.sqlstate])),
)

export function isCatalogSqlstate(state: string): boolean {
  if (CATALOG_STATES.has(state)) return true
  const c0 = state.charCodeAt(0)
  const c1 = state.charCodeAt(1)
  return (c0 === 48 && c1 === 56) /* 08 */ || (c0 === 50 && c1 === 56) /* 28 */
}

/**
 * Could a record with this severity, SQLSTATE and message (`text` from `start`; a record's first
 * line is enough) give a ConnectionEvent? `false` means certainly not: parsers use it to skip
 * building records the classifier would drop (statements, durations, checkpoints: most of a real
 * log), and `Classifier.classify` applies it first, so no rule can classify what it rejects (a
 * rule added on a new first character fails the catalog tests until it is added here).
 * Continuation lines (DETAIL, tab-led) never reach it: they belong to their record.
 * `mayClassify.logStart` answers the same for LOG messages from their first two characters.
 */
export const mayClassify = Object.assign(
  (severity: Severity, text: string, start: number, sqlstate: string | undefined): boolean => {
    if (sqlstate !== undefined && sqlstate !== '00000' && isCatalogSqlstate(sqlstate)) return true
    if (severity === 'FATAL' || severity === 'PANIC') return true
    // PostgreSQL 9.x-13 end sessions at WARNING when another backend crashed (FATAL since 14)
    if (severity === 'WARNING') return text.startsWith('terminating connection because of crash', start)
    if (severity !== 'LOG' && severity !== 'ERROR') return false
    let i = start
    // log_error_verbosity=verbose puts the SQLSTATE in front of the text: `08P01: incomplete ...`
    if (text.charCodeAt(i + 5) === 58 && text.charCodeAt(i + 6) === 32 && isSqlstateChar(text.charCodeAt(i))) {
      const state = text.slice(i, i + 5)
      if (state !== '00000' && isCatalogSqlstate(state)) return true
      i += 7
    }
    const c0 = text.charCodeAt(i)
    if (severity === 'ERROR' ? c0 === 83 || c0 === 99 : englishLog(text, i, c0)) return true // ERROR: SSL texts
    // lc_messages other than English: the wordings localized.ts translates back pass too
    return mayBeLocalized(text, i)
  },
  {
    /**
     * For a LOG message without a SQLSTATE (neither from the prefix nor written in front of the
     * text) that starts with the characters `c0`, `c1` (-1 where the message ends first): false
     * when mayClassify is false whatever follows. Parsers reading bytes let such lines go
     * without making a string of them; true means "ask mayClassify".
     */
    logStart: (c0: number, c1: number): boolean => englishLogGate(c0, c1) !== Gate.No || mayBeLocalizedStart(c0, c1),
  },
)

const enum Gate {
  No,
  Yes,
  /** decided by more of the text */
  Look,
}

function englishLog(text: string, i: number, c0: number): boolean {
  const gate = englishLogGate(c0, text.charCodeAt(i + 1))
  if (gate === Gate.Look) return text.startsWith(c0 === 102 ? 'failed to send ' : 'expected ', i)
  return gate === Gate.Yes
}

/** What the first two characters of an English LOG message decide. */
function englishLogGate(c0: number, c1: number): Gate {
  switch (c0) {
    case 99: // c + o: connection received/authorized/authenticated, could not ... (not checkpoint)
      return c1 === 111 ? Gate.Yes : Gate.No
    case 100: // d + i: disconnection (not duration)
      return c1 === 105 ? Gate.Yes : Gate.No
    case 102: // failed to send SSL/GSSAPI negotiation response
    case 101: // expected GSS response
      return Gate.Look
    case 114: // replication connection authorized
    case 105: // incomplete / invalid ... startup packet
    case 117: // unexpected EOF, unsupported frontend protocol
    case 83: // SSL error
    case 112: // pam_authenticate failed
    case 65: // Windows socket texts
    case 78:
      return Gate.Yes
    default:
      return Gate.No
  }
}

export function isSqlstateChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90)
}
