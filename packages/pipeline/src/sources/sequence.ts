/**
 * Positions for streams that cannot be re-read (syslog, HTTP, stdin): strictly increasing across
 * restarts, so record ids derived from them never collide with an earlier run's ids. The base is
 * the wall clock in microsecond-ish units (ms * 1000) or past the checkpoint, whichever is later;
 * a run would have to produce more than 1000 lines per millisecond on average to meet the next one.
 */
export class StreamSequence {
  private next: number
  private committed: number

  constructor(state: unknown, now: () => number = Date.now) {
    const saved = state && typeof state === 'object' ? Number((state as { next?: unknown }).next) : 0
    this.next = Math.max(now() * 1000, Number.isSafeInteger(saved) ? saved : 0)
    this.committed = this.next
  }

  take(): number {
    return this.next++
  }

  /** The position everything below which was delivered; for marks. */
  get current(): number {
    return this.next
  }

  commit(upTo: number): void {
    if (upTo > this.committed) this.committed = upTo
  }

  checkpoint(): { next: number } {
    return { next: this.committed }
  }
}
