import { DEAD_LETTER_RAW_LIMIT, type DeadLetter, type LogRecord, type Severity, type SourceRef } from '@connrca/contracts'
import { type IdSeed, idFromSeed, seedFor } from './record-id.js'

export interface SourceInfo {
  kind: SourceRef['kind']
  name: string
}

export interface ParseSink {
  record(r: LogRecord): void
  deadLetter(d: DeadLetter): void
}

/**
 * Decides from a record's first line whether it can matter downstream (the classifier's
 * `mayClassify`): `text` from `start` is the message, before any copy is made. Records it
 * rejects are not built, only counted (`LogParser.irrelevant`); their continuation lines go
 * with them.
 */
export type RecordFilter = ((severity: Severity, text: string, start: number, sqlstate: string | undefined) => boolean) & {
  /**
   * The same answer for a LOG message without SQLSTATE from its first two characters (-1 where
   * the message ends first), where they decide it: false = the filter is false whatever follows
   * (the classifier's `mayClassify.logStart`). With it, stderr lets such lines go from their
   * bytes, without a string made of them.
   */
  readonly logStart?: (c0: number, c1: number) => boolean
}

/** Per-parser identity: source, server fallback, id seed. */
export class Origin {
  readonly seed: IdSeed
  /** records the relevance filter let go unbuilt (after `countAfter`) */
  irrelevant = 0
  /** Positions at or before this were counted by an earlier run (a resumed file re-reads its last record). */
  countAfter = -1
  constructor(
    readonly source: SourceInfo,
    readonly server: string,
    private readonly sink: ParseSink,
  ) {
    this.seed = seedFor(source.name)
  }

  id(position: number | string): string {
    return idFromSeed(this.seed, position)
  }

  ref(position: number | string): SourceRef {
    return { kind: this.source.kind, name: this.source.name, position }
  }

  dead(raw: string, position: number | string, reason: string, server?: string): void {
    this.sink.deadLetter({
      id: this.id(position),
      stage: 'parse',
      reason,
      raw: raw.length > DEAD_LETTER_RAW_LIMIT ? raw.slice(0, DEAD_LETTER_RAW_LIMIT) : raw,
      server: server ?? this.server,
      source: this.ref(position),
      time: Date.now(),
    })
  }
}

/** Quotes a line fragment for a dead-letter reason without dragging a megabyte along. */
export function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s
}
