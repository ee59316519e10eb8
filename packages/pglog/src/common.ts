import { DEAD_LETTER_RAW_LIMIT, type DeadLetter, type LogRecord, type SourceRef } from '@connrca/contracts'
import { type IdSeed, idFromSeed, seedFor } from './record-id.js'

export interface SourceInfo {
  kind: SourceRef['kind']
  name: string
}

export interface ParseSink {
  record(r: LogRecord): void
  deadLetter(d: DeadLetter): void
}

/** Per-parser identity: source, server fallback, id seed. */
export class Origin {
  readonly seed: IdSeed
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
