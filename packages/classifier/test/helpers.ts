import type { LogRecord } from '@connrca/contracts'

let seq = 0

/** A LogRecord as a parser would produce it; only the fields a test cares about need be given. */
export function rec(severity: LogRecord['severity'], message: string, extra: Partial<LogRecord> = {}): LogRecord {
  seq++
  return {
    id: `r${seq}`,
    server: 'pg1',
    time: 1_700_000_000_000 + seq * 1000,
    severity,
    message,
    source: { kind: 'file', name: 'test.log', position: seq },
    ...extra,
  }
}
