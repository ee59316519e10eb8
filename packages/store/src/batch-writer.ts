/**
 * Collects rows and writes them in batches bounded by size (maxRows) and age (maxWaitMs).
 *
 * - `add(rows)` resolves once every one of those rows is written (possibly across two batches),
 *   so a caller that commits a source position after `await add(...)` never commits unwritten rows.
 * - A batch is always handed to `write` whole; a failed write is retried with the same batch.
 *   Together with idempotent tables (dedup by id) a retry after a partial failure cannot change
 *   a count, so a batch is never left half-applied.
 * - Batches are written one at a time, in order.
 */

export interface BatchWriterOptions {
  maxRows: number
  maxWaitMs: number
  /** Retries after the first failed attempt; default 3. */
  retries?: number
  /** First retry delay, doubled per attempt up to 5 s; default 200 ms. */
  retryBaseMs?: number
  /** Called for each failed attempt, the last one included (logging/metrics). */
  onError?: (err: unknown, attempt: number, rows: number) => void
}

interface Ticket {
  remaining: number
  failed: boolean
  resolve: () => void
  reject: (err: unknown) => void
}

interface Batch<T> {
  rows: T[]
  tickets: Ticket[]
}

export class BatchWriterClosed extends Error {}

export class BatchWriter<T> {
  private open: Batch<T> = { rows: [], tickets: [] }
  private timer: NodeJS.Timeout | undefined
  private tail: Promise<void> = Promise.resolve()
  private failures: unknown[] = []
  private closed = false
  private readonly maxRows: number
  private readonly maxWaitMs: number
  private readonly retries: number
  private readonly retryBaseMs: number

  constructor(
    private readonly write: (rows: T[]) => Promise<void>,
    private readonly opts: BatchWriterOptions,
  ) {
    if (!(opts.maxRows >= 1)) throw new RangeError('BatchWriter: maxRows must be >= 1')
    if (!(opts.maxWaitMs >= 0)) throw new RangeError('BatchWriter: maxWaitMs must be >= 0')
    this.maxRows = Math.floor(opts.maxRows)
    this.maxWaitMs = opts.maxWaitMs
    this.retries = opts.retries ?? 3
    this.retryBaseMs = opts.retryBaseMs ?? 200
  }

  /** Rows buffered and not yet handed to a write. */
  get pending(): number {
    return this.open.rows.length
  }

  add(rows: readonly T[]): Promise<void> {
    if (this.closed) return Promise.reject(new BatchWriterClosed('BatchWriter: add() after close()'))
    if (rows.length === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const ticket: Ticket = { remaining: 0, failed: false, resolve, reject }
      let i = 0
      while (i < rows.length) {
        const batch = this.open
        const take = Math.min(this.maxRows - batch.rows.length, rows.length - i)
        for (let k = 0; k < take; k++) batch.rows.push(rows[i + k])
        i += take
        batch.tickets.push(ticket)
        ticket.remaining++
        if (batch.rows.length >= this.maxRows) this.seal()
      }
      if (this.open.rows.length > 0 && this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined
          this.seal()
        }, this.maxWaitMs)
      }
    })
  }

  /** Writes everything buffered; rejects with the first write failure since the previous flush. */
  async flush(): Promise<void> {
    this.seal()
    await this.tail
    if (this.failures.length > 0) {
      const [first] = this.failures
      this.failures = []
      throw first
    }
  }

  /** Flushes and refuses further rows. */
  async close(): Promise<void> {
    this.closed = true
    await this.flush()
  }

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    const batch = this.open
    if (batch.rows.length === 0) return
    this.open = { rows: [], tickets: [] }
    this.tail = this.tail.then(() => this.writeBatch(batch))
  }

  private async writeBatch(batch: Batch<T>): Promise<void> {
    let attempt = 0
    for (;;) {
      try {
        await this.write(batch.rows)
        break
      } catch (err) {
        attempt++
        this.opts.onError?.(err, attempt, batch.rows.length)
        if (attempt > this.retries) {
          this.failures.push(err)
          for (const t of batch.tickets) {
            if (!t.failed) {
              t.failed = true
              t.reject(err)
            }
          }
          return
        }
        await sleep(Math.min(5000, this.retryBaseMs * 2 ** (attempt - 1)))
      }
    }
    for (const t of batch.tickets) {
      if (--t.remaining === 0 && !t.failed) t.resolve()
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
