// log_line_prefix compiled once into a flat op list and matched by a hand-written scanner.
// Free-text escapes (%u %d %a ...) end at the next literal of the prefix, found with indexOf.

import type { TimestampParser } from './timestamp.js'
import type { SeverityScan } from './severity.js'

/**
 * Values found in one line's prefix; a single instance is reused for every line. A compiled
 * prefix only notes where its free-text values (%u %d %a %h %r %b) are: `resolve()` cuts them
 * out, and the parsers call it only for lines that become records (most lines of a log do not).
 */
export class PrefixFields {
  time = Number.NaN
  pid = -1
  lineNum = -1
  sessionId: string | undefined = undefined
  user: string | undefined = undefined
  database: string | undefined = undefined
  application: string | undefined = undefined
  clientIp: string | undefined = undefined
  clientPort = -1
  sqlstate: string | undefined = undefined
  backendType: string | undefined = undefined
  /** (op, start, end) of each free-text value of `text` not cut out yet */
  private readonly spans = new Int32Array(3 * 16)
  private spanCount = 0
  private text = ''

  reset(): void {
    this.time = Number.NaN
    this.pid = -1
    this.lineNum = -1
    this.sessionId = undefined
    this.user = undefined
    this.database = undefined
    this.application = undefined
    this.clientIp = undefined
    this.clientPort = -1
    this.sqlstate = undefined
    this.backendType = undefined
    this.spanCount = 0
  }

  /** Notes a free-text value at text[start, end); a prefix with more than 16 is cut at once. */
  note(text: string, op: number, start: number, end: number): void {
    const k = this.spanCount
    if (k === 16) {
      cut(this, text, op, start, end)
      return
    }
    this.text = text
    this.spans[3 * k] = op
    this.spans[3 * k + 1] = start
    this.spans[3 * k + 2] = end
    this.spanCount = k + 1
  }

  /** Cuts out the values `note` kept: call before reading user, database, application, clientIp, clientPort, backendType. */
  resolve(): void {
    const sp = this.spans
    for (let k = 0; k < this.spanCount; k++) cut(this, this.text, sp[3 * k], sp[3 * k + 1], sp[3 * k + 2])
    this.spanCount = 0
  }
}

function cut(out: PrefixFields, s: string, op: Op, start: number, end: number): void {
  if (op === Op.Remote) {
    setRemote(out, s, start, end)
    return
  }
  const v = present(s.slice(start, end))
  switch (op) {
    case Op.User:
      out.user = v
      break
    case Op.Db:
      out.database = v
      break
    case Op.App:
      out.application = v
      break
    case Op.Host:
      out.clientIp = v === '[local]' ? undefined : v
      break
    case Op.Backend:
      out.backendType = v
      break
  }
}

export interface PrefixMatcher {
  /** the log_line_prefix this matcher was compiled from ('' for the built-in loose matcher) */
  readonly prefix: string
  /** true when lines carry a process id or session id to join continuation lines by */
  readonly keyed: boolean
  /** Matches the prefix at `pos`; fills `out`; returns the index after it, or -1. */
  match(s: string, pos: number, out: PrefixFields, ts: TimestampParser, sev: SeverityScan): number
}

export enum Op {
  Lit,
  TsMillis, // %m
  Ts, // %t
  TsSkip, // %s: session start, same shape as %t, not kept
  Epoch, // %n
  Pid, // %p
  Line, // %l
  Digits, // %x %Q %P: numeric, not kept
  Session, // %c
  State, // %e
  User, // %u
  Db, // %d
  App, // %a
  Host, // %h
  Remote, // %r
  Backend, // %b
  Text, // %i %v %L ...: free text, not kept
  Q, // %q
}

const ESCAPES: Record<string, Op> = {
  m: Op.TsMillis,
  t: Op.Ts,
  s: Op.TsSkip,
  n: Op.Epoch,
  p: Op.Pid,
  l: Op.Line,
  x: Op.Digits,
  Q: Op.Digits,
  P: Op.Digits,
  c: Op.Session,
  e: Op.State,
  u: Op.User,
  d: Op.Db,
  a: Op.App,
  h: Op.Host,
  r: Op.Remote,
  b: Op.Backend,
  i: Op.Text,
  v: Op.Text,
  L: Op.Text,
  q: Op.Q,
}

/** Compiles a log_line_prefix. Throws one clear Error line for unknown escapes or ambiguous layouts. */
export function compilePrefix(prefix: string): PrefixMatcher {
  const ops: Op[] = []
  const lits: string[] = []
  let lit = ''
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix[i]
    if (c !== '%') {
      lit += c
      continue
    }
    let e = prefix[++i]
    if (e === undefined) throw new Error(`log_line_prefix '${prefix}': dangling '%' at the end`)
    if (e === '%') {
      lit += '%'
      continue
    }
    // padding such as %-10u or %10p (PG 9.6+): width is irrelevant to matching, skip it
    while (e === '-' || (e >= '0' && e <= '9')) e = prefix[++i]
    const op = e === undefined ? undefined : ESCAPES[e]
    if (op === undefined)
      throw new Error(`log_line_prefix '${prefix}': unknown escape '%${e ?? ''}' at offset ${i - 1}`)
    if (lit) {
      ops.push(Op.Lit)
      lits.push(lit)
      lit = ''
    }
    ops.push(op)
    lits.push('')
  }
  if (lit) {
    ops.push(Op.Lit)
    lits.push(lit)
  }
  // free text needs a literal after it to know where it ends; the end of the prefix counts as ' '
  const stops: string[] = ops.map((op, k) => {
    if (!isFreeText(op)) return ''
    const next = ops[k + 1]
    if (next === undefined) return ' '
    if (next === Op.Lit) return lits[k + 1]
    if (next === Op.Q) return ops[k + 2] === Op.Lit ? lits[k + 2] : ' '
    throw new Error(
      `log_line_prefix '${prefix}': escape #${k + 1} is free text followed directly by another escape; cannot tell where it ends`,
    )
  })
  return new CompiledPrefix(prefix, ops, lits, stops)
}

function isFreeText(op: Op): boolean {
  return (
    op === Op.User ||
    op === Op.Db ||
    op === Op.App ||
    op === Op.Host ||
    op === Op.Remote ||
    op === Op.Backend ||
    op === Op.Text
  )
}

function present(v: string): string | undefined {
  return v === '' || v === '[unknown]' || v === '[unbekannt]' ? undefined : v
}

export class CompiledPrefix implements PrefixMatcher {
  readonly keyed: boolean
  constructor(
    readonly prefix: string,
    readonly ops: Op[],
    readonly lits: string[],
    /** where each free-text value ends: the literal after it */
    readonly stops: string[],
  ) {
    this.keyed = ops.includes(Op.Pid) || ops.includes(Op.Session)
  }

  match(s: string, pos: number, out: PrefixFields, ts: TimestampParser, sev: SeverityScan): number {
    out.reset()
    const ops = this.ops
    const n = ops.length
    for (let k = 0; k < n; k++) {
      switch (ops[k]) {
        case Op.Lit: {
          const l = this.lits[k]
          if (!s.startsWith(l, pos)) return -1
          pos += l.length
          break
        }
        case Op.TsMillis:
        case Op.Ts: {
          const t = ts.parse(s, pos)
          if (Number.isNaN(t)) return -1
          out.time = t
          pos = ts.end
          break
        }
        case Op.TsSkip: {
          if (Number.isNaN(ts.parse(s, pos))) return -1
          pos = ts.end
          break
        }
        case Op.Epoch: {
          const st = pos
          let secs = 0
          for (let c = s.charCodeAt(pos) - 48; c >= 0 && c <= 9; c = s.charCodeAt(++pos) - 48) secs = secs * 10 + c
          if (pos === st) return -1
          let ms = 0
          if (s.charCodeAt(pos) === 46) {
            let scale = 100
            for (let c = s.charCodeAt(++pos) - 48; c >= 0 && c <= 9; c = s.charCodeAt(++pos) - 48) {
              ms += c * scale
              scale /= 10
            }
          }
          out.time = secs * 1000 + Math.floor(ms)
          break
        }
        case Op.Pid:
        case Op.Line: {
          let v = 0
          const st = pos
          for (let c = s.charCodeAt(pos) - 48; c >= 0 && c <= 9; c = s.charCodeAt(++pos) - 48) v = v * 10 + c
          if (pos === st) return -1
          if (ops[k] === Op.Pid) out.pid = v
          else out.lineNum = v
          break
        }
        case Op.Digits: {
          if (s.charCodeAt(pos) === 45) pos++
          while (isDigit(s.charCodeAt(pos))) pos++
          break
        }
        case Op.Session: {
          const st = pos
          while (isHexOrDot(s.charCodeAt(pos))) pos++
          if (pos === st) return -1
          out.sessionId = s.slice(st, pos)
          // `%c` is <hex backend start time>.<hex pid>: prefixes without %p (Azure's `%t-%c-`)
          // still name the backend, which links `connection received` to what follows
          if (out.pid < 0) out.pid = sessionPid(s, st, pos)
          break
        }
        case Op.State: {
          const st = pos
          while (pos < st + 5 && isStateChar(s.charCodeAt(pos))) pos++
          if (pos !== st + 5) return -1
          out.sqlstate = s.slice(st, pos)
          break
        }
        case Op.Q: {
          // non-session processes print nothing from here on: the severity follows directly
          if (sev.scan(s, pos)) return pos
          break
        }
        case Op.Remote: {
          const e = remoteEnd(s, pos)
          const end = e >= 0 ? e : s.indexOf(this.stops[k], pos)
          if (end < 0) return -1
          out.note(s, Op.Remote, pos, end)
          pos = end
          break
        }
        default: {
          const end = s.indexOf(this.stops[k], pos)
          if (end < 0) return -1
          // %i %v %L: not kept
          if (ops[k] !== Op.Text) out.note(s, ops[k], pos, end)
          pos = end
        }
      }
    }
    return pos
  }
}

/** End of "%r" text: "host(port)" or "[local]"; -1 when neither shape is there. */
function remoteEnd(s: string, pos: number): number {
  if (s.charCodeAt(pos) === 91) {
    const e = s.indexOf(']', pos)
    return e < 0 || e - pos > 64 ? -1 : e + 1
  }
  const lim = Math.min(s.length, pos + 300)
  for (let i = pos; i < lim; i++) {
    const c = s.charCodeAt(i)
    if (c === 40) {
      let j = i + 1
      while (isDigit(s.charCodeAt(j))) j++
      return j > i + 1 && s.charCodeAt(j) === 41 ? j + 1 : -1
    }
    if (c === 32) return -1
  }
  return -1
}

function setRemote(out: PrefixFields, s: string, st: number, end: number): void {
  if (end === st || s.charCodeAt(st) === 91) return // empty or [local]
  let p = -1
  if (s.charCodeAt(end - 1) === 41) p = s.lastIndexOf('(', end)
  if (p > st) {
    out.clientIp = s.slice(st, p)
    out.clientPort = Number(s.slice(p + 1, end - 1))
  } else out.clientIp = s.slice(st, end)
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}
function isHexOrDot(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || c === 46
}
function isStateChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90)
}

/** The hex pid after the dot of a `%c` session id in s[from, to); -1 when there is none. */
function sessionPid(s: string, from: number, to: number): number {
  const dot = s.indexOf('.', from)
  if (dot < 0 || dot >= to - 1) return -1
  const v = Number.parseInt(s.slice(dot + 1, to), 16)
  return Number.isSafeInteger(v) ? v : -1
}
