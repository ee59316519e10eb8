// Most lines of a stderr log can never matter to the classifier (durations, statements,
// checkpoints). For an ASCII line, this decides that from the line's bytes, before a string is
// made of it: reading bytes costs a third of reading a string's characters, and the string of
// a line let go was most of what the line cost.

import { CompiledPrefix, Op, type PrefixMatcher } from './prefix.js'
import { timestampEndAscii } from './timestamp.js'

/** read()'s answer for a line whose prefix it read but whose record it cannot let go. */
export const NOT_LET_GO = -2
/** read()'s answer for a line whose prefix it could not read: the text path decides everything. */
export const NO_PREFIX = -3

/**
 * A compiled log_line_prefix read from an ASCII line's bytes, with what TextLogParser.entry,
 * reading the same line as text with this prefix, would do. read() lets a record go only where
 * that is certain: the prefix matches, the severity is LOG, no SQLSTATE, and the filter's
 * `logStart` rejects the message's first two characters. For another line whose prefix it read,
 * it keeps what the text path's match would have found (where the prefix ends, the pid, where
 * the time is, the free-text values), so the text path starts after the prefix. Where it cannot
 * read the prefix (another prefix, a process without a session under %q), the text path does
 * everything. `test/hostile/fast-paths.test.ts` holds both paths to the same records.
 */
export class AsciiPrefix {
  private readonly steps: Step[]
  /** the literal each step compares or looks for */
  private readonly texts: Uint8Array[]

  /** The escapes whose values the text path keeps (%u %d %a %h %b), in prefix order. */
  readonly kept: Op[]
  /** `kept` values of the line being read: start, end pairs */
  private readonly spans: Int32Array

  private constructor(
    private readonly ops: Op[],
    lits: string[],
    stops: string[],
    private readonly logStart: (c0: number, c1: number) => boolean,
  ) {
    this.steps = ops.map(stepOf)
    this.texts = ops.map((op, k) => Buffer.from(op === Op.Lit ? lits[k] : stops[k], 'latin1'))
    this.kept = ops.filter((op) => stepOf(op) === Step.Text && op !== Op.Text)
    this.spans = new Int32Array(2 * this.kept.length)
  }

  /**
   * For a compiled prefix made only of escapes this reads (timestamps, pids, line numbers,
   * digits, %q and free text ended by an ASCII literal), with a timestamp; undefined otherwise.
   */
  static of(m: PrefixMatcher, logStart: ((c0: number, c1: number) => boolean) | undefined): AsciiPrefix | undefined {
    if (logStart === undefined || !(m instanceof CompiledPrefix)) return undefined
    if (!m.ops.some((op) => op === Op.TsMillis || op === Op.Ts)) return undefined
    if (!m.ops.every((op) => stepOf(op) !== Step.None)) return undefined
    if (![...m.lits, ...m.stops].every(isAscii)) return undefined
    return new AsciiPrefix(m.ops, m.lits, m.stops, logStart)
  }

  /**
   * The line b[start, end) (ASCII, no newline): when its record is let go, the key its
   * continuation lines join by (the pid, -1 for a prefix without one). Else NOT_LET_GO, with what
   * the text path's match would find appended to `found` (offsets from the line's start: where the
   * prefix ends, the pid or -1, where the time is, then the start and end of each `kept` value),
   * or NO_PREFIX.
   */
  read(b: Uint8Array, start: number, end: number, found: number[]): number {
    const steps = this.steps
    let p = start
    let pid = -1
    let timeAt = 0
    let kept = 0
    for (let k = 0; k < steps.length; k++) {
      switch (steps[k]) {
        case Step.Lit: {
          const l = this.texts[k]
          if (p + l.length > end) return NO_PREFIX
          for (let j = 0; j < l.length; j++) if (b[p + j] !== l[j]) return NO_PREFIX
          p += l.length
          break
        }
        case Step.Time: {
          const at = p
          p = timestampEndAscii(b, p, end)
          if (p < 0) return NO_PREFIX
          if (this.ops[k] !== Op.TsSkip) timeAt = at - start
          break
        }
        case Step.Pid:
        case Step.Number: {
          let v = 0
          const st = p
          for (; p < end && isDigit(b[p]); p++) v = v * 10 + b[p] - 48
          if (p === st) return NO_PREFIX
          if (steps[k] === Step.Pid) pid = v
          break
        }
        case Step.Digits:
          if (p < end && b[p] === 45) p++
          while (p < end && isDigit(b[p])) p++
          break
        case Step.Q:
          // a severity word here would end the prefix (a process without a session): read as text
          if (p < end && b[p] >= 65 && b[p] <= 90) return NO_PREFIX
          break
        default: {
          // Step.Text: free text up to the literal after it; kept unless it is %i %v %L
          const from = p
          p = find(b, this.texts[k], p, end)
          if (p < 0) return NO_PREFIX
          if (this.ops[k] !== Op.Text) {
            this.spans[kept++] = from - start
            this.spans[kept++] = p - start
          }
        }
      }
    }
    const prefixEnd = p - start
    // "LOG:" and up to two spaces; a SQLSTATE written in front of the message goes to the text path
    let letGo = p + 4 <= end && b[p] === 76 && b[p + 1] === 79 && b[p + 2] === 71 && b[p + 3] === 58
    if (letGo) {
      p += 4
      if (p < end && b[p] === 32) p++
      if (p < end && b[p] === 32) p++
      letGo =
        !(p + 6 < end && b[p + 5] === 58 && b[p + 6] === 32) &&
        !this.logStart(p < end ? b[p] : -1, p + 1 < end ? b[p + 1] : -1)
    }
    if (letGo) return pid
    found.push(prefixEnd, pid, timeAt)
    for (let j = 0; j < kept; j++) found.push(this.spans[j])
    return NOT_LET_GO
  }
}

/** What read() does for an escape (one switch over a few local constants). */
const enum Step {
  None,
  Lit,
  Time,
  Pid,
  /** %l: digits, not kept */
  Number,
  /** %x %Q %P: an optional sign and digits */
  Digits,
  Q,
  /** free text up to the literal after it */
  Text,
}

function stepOf(op: Op): Step {
  switch (op) {
    case Op.Lit:
      return Step.Lit
    case Op.TsMillis:
    case Op.Ts:
    case Op.TsSkip:
      return Step.Time
    case Op.Pid:
      return Step.Pid
    case Op.Line:
      return Step.Number
    case Op.Digits:
      return Step.Digits
    case Op.Q:
      return Step.Q
    case Op.User:
    case Op.Db:
    case Op.App:
    case Op.Host:
    case Op.Backend:
    case Op.Text:
      return Step.Text
    default: // %n %c %e %r: read as text
      return Step.None
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false
  return true
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/** First index of `lit` in b[from, end), or -1. */
function find(b: Uint8Array, lit: Uint8Array, from: number, end: number): number {
  const c0 = lit[0]
  const last = end - lit.length
  outer: for (let i = from; i <= last; i++) {
    if (b[i] !== c0) continue
    for (let j = 1; j < lit.length; j++) if (b[i + j] !== lit[j]) continue outer
    return i
  }
  return -1
}
