// Multi-line join: a record stays open while its process may still write DETAIL/HINT/... lines.
// Records are emitted strictly in the order of their first line, so a consumer committing file
// positions never skips a record that is still open.

import type { LogRecord, Severity } from '@connrca/contracts'

/** How many newer records may start before an open record is assumed complete. */
export const JOIN_WINDOW = 64

enum Field {
  Message,
  Detail,
  Hint,
  Context,
  Statement,
  None,
}

interface Slot {
  /** undefined for a skipped record: it only absorbs its continuation lines */
  rec: LogRecord | undefined
  position: number | string
  key: string | number
  seq: number
  closed: boolean
  field: Field
  /** Characters joined onto the record so far. */
  size: number
}

/**
 * A record stops growing at this many joined characters: a runaway statement must not hold the
 * memory of every line after it. The record says it was cut; the lines themselves are consumed.
 */
export const MAX_JOINED_CHARS = 1 << 20
const CUT_MARK = '\n…[connrca: record cut at 1 MiB of joined lines]'

/** Counts `n` more characters against the slot's budget; false (after marking the record once) when over. */
function budget(slot: Slot, n: number): boolean {
  if (slot.rec === undefined || slot.size > MAX_JOINED_CHARS) return false
  slot.size += n
  if (slot.size <= MAX_JOINED_CHARS) return true
  slot.rec.message += CUT_MARK
  return false
}

export class Joiner {
  private readonly open = new Map<string | number, Slot>()
  private queue: Slot[] = []
  private head = 0
  private seq = 0
  private free: Slot[] = []
  private last: Slot | undefined

  constructor(private readonly emit: (r: LogRecord) => void) {}

  /** Starts a new record for `key`; the previous record of that key is complete. */
  start(key: string | number, rec: LogRecord): void {
    this.open1(key, rec, rec.source.position)
  }

  /**
   * A record that is not built (the parser's relevance filter said it cannot matter): it takes
   * its place like a record, so its DETAIL/HINT/tab-led lines are consumed by it instead of
   * joining another record or becoming orphans, and it is dropped when it would be emitted.
   */
  skip(key: string | number, position: number | string): void {
    this.open1(key, undefined, position)
  }

  /**
   * True when the open record of `key` is a skipped one: it takes the DETAIL/HINT/... line being
   * read without its text (no parsing needed), and the tab-led lines after it, as `attach` does.
   */
  absorbs(key: string | number): boolean {
    const slot = this.open.get(key)
    if (slot === undefined || slot.rec !== undefined) return false
    this.last = slot
    return true
  }

  private open1(key: string | number, rec: LogRecord | undefined, position: number | string): void {
    const prev = this.open.get(key)
    if (prev !== undefined) prev.closed = true
    const slot = this.free.pop() ?? { rec, position, key, seq: 0, closed: false, field: Field.Message, size: 0 }
    slot.rec = rec
    slot.position = position
    slot.size = 0
    slot.key = key
    slot.seq = ++this.seq
    slot.closed = false
    slot.field = Field.Message
    this.open.set(key, slot)
    this.queue.push(slot)
    this.last = slot
    this.drain()
  }

  /** Adds a DETAIL/HINT/... line to the open record of `key`; false when there is none. */
  attach(key: string | number, sev: Severity, text: string): boolean {
    const slot = this.open.get(key)
    if (slot === undefined) return false
    if (slot.rec === undefined) {
      this.last = slot
      return true
    }
    if (!budget(slot, text.length)) return true
    const r = slot.rec
    let field: Field
    switch (sev) {
      case 'DETAIL':
        r.detail = r.detail === undefined ? text : `${r.detail}\n${text}`
        field = Field.Detail
        break
      case 'HINT':
        r.hint = r.hint === undefined ? text : `${r.hint}\n${text}`
        field = Field.Hint
        break
      case 'CONTEXT':
        r.context = r.context === undefined ? text : `${r.context}\n${text}`
        field = Field.Context
        break
      case 'QUERY': {
        // the internal query an error happened in: kept with the context it explains
        const q = `internal query: ${text}`
        r.context = r.context === undefined ? q : `${r.context}\n${q}`
        field = Field.Context
        break
      }
      case 'STATEMENT':
        r.statement = r.statement === undefined ? text : `${r.statement}\n${text}`
        field = Field.Statement
        break
      default: // LOCATION: source position inside PostgreSQL, not useful downstream
        field = Field.None
    }
    this.last = slot
    slot.field = field
    return true
  }

  /** Appends a physical continuation line (tab-led) to the field written last; false when nothing is open. */
  continueLine(text: string, newline: boolean): boolean {
    const slot = this.last
    if (slot === undefined || this.open.get(slot.key) !== slot) return false
    append(slot, text, newline)
    return true
  }

  /** Like continueLine, for the open record of one process (syslog chunks of interleaved processes). */
  continueKey(key: string | number, text: string, newline: boolean): boolean {
    const slot = this.open.get(key)
    if (slot === undefined) return false
    append(slot, text, newline)
    this.last = slot
    return true
  }

  /** Key of the record written to last, for formats whose continuations name no process. */
  lastKey(): string | number | undefined {
    return this.last?.key
  }

  /** Position of the oldest record not yet emitted (for committing read positions), if any. */
  oldestOpenPosition(): number | string | undefined {
    return this.head < this.queue.length ? this.queue[this.head].position : undefined
  }

  /**
   * Emits every record but the newest: the end of what a followed file holds now. PostgreSQL
   * writes a report with its DETAIL/HINT/... lines in one write, so once a later record has
   * started, the earlier ones are complete even if their process never writes again (a backend
   * that ended with a FATAL); only the newest may still be waiting for its continuation lines.
   */
  settle(): void {
    const q = this.queue
    for (let i = this.head; i < q.length - 1; i++) q[i].closed = true
    this.drain()
  }

  flush(): void {
    for (let i = this.head; i < this.queue.length; i++) this.release(this.queue[i])
    this.queue = []
    this.head = 0
    this.open.clear()
    this.last = undefined
  }

  private drain(): void {
    const q = this.queue
    const limit = this.seq - JOIN_WINDOW
    while (this.head < q.length) {
      const s = q[this.head]
      if (!s.closed && s.seq > limit) break
      this.head++
      if (this.open.get(s.key) === s) this.open.delete(s.key)
      this.release(s)
    }
    if (this.head > 1024 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head)
      this.head = 0
    }
  }

  private release(s: Slot): void {
    const r = s.rec
    if (this.last === s) this.last = undefined
    s.rec = undefined
    this.free.push(s)
    if (r !== undefined) this.emit(r)
  }
}

function append(slot: Slot, text: string, newline: boolean): void {
  if (!budget(slot, text.length)) return
  const r = slot.rec as LogRecord
  const sep = newline ? '\n' : ''
  switch (slot.field) {
    case Field.Message:
      r.message += sep + text
      break
    case Field.Detail:
      r.detail += sep + text
      break
    case Field.Hint:
      r.hint += sep + text
      break
    case Field.Context:
      r.context += sep + text
      break
    case Field.Statement:
      r.statement += sep + text
      break
  }
}
