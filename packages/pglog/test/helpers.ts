import type { DeadLetter, LogRecord } from '@connrca/contracts'
import { createParser, type ParseOptions } from '../src/index.js'

export interface Collected {
  records: LogRecord[]
  dead: DeadLetter[]
}

/** Parses text (split on \n) with byte-offset positions, like readLines would deliver it. */
export function parse(text: string, opts: Partial<ParseOptions> = {}): Collected {
  const out: Collected = { records: [], dead: [] }
  const p = createParser(
    { format: 'auto', source: { kind: 'file', name: 'test.log' }, ...opts },
    { record: (r) => out.records.push(r), deadLetter: (d) => out.dead.push(d) },
  )
  let pos = 0
  for (const line of text.split('\n')) {
    p.push(line, pos)
    pos += Buffer.byteLength(line) + 1
  }
  p.flush()
  return out
}

export const iso = (ms: number): string => new Date(ms).toISOString()
