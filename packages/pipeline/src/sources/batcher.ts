import { retryWithBackoff } from '@connrca/observe'
import type { DeadLetter, LogRecord } from '@connrca/contracts'
import type { Deliver } from './types.js'

export interface BatcherOptions {
  /** Records (+ dead letters) per batch. */
  maxRecords?: number
  /** How long the first buffered record may wait for company. */
  maxWaitMs?: number
  /** Sealed batches waiting for delivery before `room()` makes readers wait. */
  maxQueued?: number
  logger?: (line: string) => void
  sourceName?: string
  /**
   * Called as a batch is sealed; the returned commit runs once that batch was accepted. Lets a
   * source record exactly which positions a batch covers, even when a batch fills up mid-chunk.
   */
  onSeal?: () => (() => void) | undefined
}

interface Pending {
  records: LogRecord[]
  deadLetters: DeadLetter[]
  /** Run, in order, once this batch (and every batch before it) was accepted downstream. */
  commits: Array<() => void>
}

/**
 * Turns a stream of parsed items into ordered batches for `deliver`, one in flight at a time.
 * Positions are committed through `mark()` callbacks that run only after the covering batch
 * was accepted, so a checkpoint never runs ahead of the data. Memory stays bounded: readers
 * await `room()` and stop reading while downstream is slow.
 */
export class Batcher {
  private readonly maxRecords: number
  private readonly maxWaitMs: number
  private readonly maxQueued: number
  private current: Pending = empty()
  private readonly queue: Pending[] = []
  private timer: NodeJS.Timeout | undefined
  private sending = false
  private stopped = false
  private idleWaiters: Array<() => void> = []
  private roomWaiters: Array<() => void> = []
  private failure: Error | undefined

  constructor(
    private readonly deliver: Deliver,
    private readonly opts: BatcherOptions = {},
  ) {
    this.maxRecords = opts.maxRecords ?? 5000
    this.maxWaitMs = opts.maxWaitMs ?? 200
    this.maxQueued = opts.maxQueued ?? 2
  }

  get size(): number {
    return this.current.records.length + this.current.deadLetters.length
  }

  add(record: LogRecord): void {
    this.current.records.push(record)
    this.afterAdd()
  }

  addDeadLetter(d: DeadLetter): void {
    this.current.deadLetters.push(d)
    this.afterAdd()
  }

  /** `commit` runs once everything added so far has been accepted downstream. */
  mark(commit: () => void): void {
    if (this.size > 0) this.current.commits.push(commit)
    else if (this.queue.length > 0) this.queue[this.queue.length - 1].commits.push(commit)
    else commit()
  }

  /** Resolves when the reader may produce more (backpressure). */
  room(): Promise<void> {
    if (this.queue.length < this.maxQueued) return Promise.resolve()
    return new Promise((resolve) => this.roomWaiters.push(resolve))
  }

  /** Seal the current buffer now and resolve when every batch so far was delivered. */
  async flush(): Promise<void> {
    this.seal()
    await this.idle()
  }

  idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.queue.length === 0 && !this.sending) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Stop retrying failed deliveries (after the owner flushed what it wanted). */
  close(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private afterAdd(): void {
    if (this.size >= this.maxRecords) this.seal()
    else if (!this.timer) this.timer = setTimeout(() => this.seal(), this.maxWaitMs)
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.size === 0) return
    const commit = this.opts.onSeal?.()
    if (commit) this.current.commits.push(commit)
    this.queue.push(this.current)
    this.current = empty()
    void this.pump()
  }

  private async pump(): Promise<void> {
    if (this.sending) return
    this.sending = true
    while (this.queue.length > 0) {
      const batch = this.queue[0]
      try {
        if (this.deliver.takesBatch) await this.handOver(batch)
        else
          await retryWithBackoff(() => this.deliver({ records: batch.records, deadLetters: batch.deadLetters }), {
            minMs: 250,
            maxMs: 30_000,
            retryable: () => !this.stopped,
            onRetry: (err, _attempt, delay) =>
              this.opts.logger?.(
                `${this.opts.sourceName ?? 'source'}: delivery failed, retrying in ${delay} ms: ${(err as Error).message}`,
              ),
          })
      } catch (err) {
        this.failure = err as Error
        break
      }
      this.queue.shift()
      for (const c of batch.commits) c()
      for (const w of this.roomWaiters.splice(0)) w()
    }
    this.sending = false
    for (const w of this.roomWaiters.splice(0)) w()
    for (const w of this.idleWaiters.splice(0)) w()
  }

  /** A deliver that takes the batch: called once, and the records are not kept while it runs. */
  private handOver(batch: Pending): Promise<void> {
    const sent = this.deliver({ records: batch.records, deadLetters: batch.deadLetters })
    batch.records = []
    batch.deadLetters = []
    return sent
  }
}

function empty(): Pending {
  return { records: [], deadLetters: [], commits: [] }
}
