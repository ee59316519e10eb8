import { backoffDelay, errorText, pause } from './backoff.js'
import type { WireClient, WireMessage, WireProducer } from './client.js'
import type { BatchOptions, TransportLogger, TransportMetrics } from './options.js'

/** Broker default message.max.bytes is ~1 MB per record batch; stay under it before compression. */
const MAX_REQUEST_BYTES = 900_000
export const MAX_MESSAGE_BYTES = MAX_REQUEST_BYTES
/** Bytes buffered before `send` waits for room, whatever the message count (frames can be large). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024

interface Pending {
  topic: string
  messages: WireMessage[]
  bytes: number[]
  /** Messages of this entry already handed to a send. */
  taken: number
  /** Messages of this entry acknowledged. */
  acked: number
  resolve(): void
  reject(err: Error): void
}

interface Chunk {
  topicMessages: { topic: string; messages: WireMessage[] }[]
  count: number
  bytes: number
  /** Per entry: how many of its messages this chunk carries. */
  parts: { entry: Pending; n: number }[]
}

export interface ProducerState {
  buffered: number
  failingSince?: number
  lastError?: string
}

/**
 * One kafkajs producer behind a buffer: `send` appends and resolves when its messages are
 * acknowledged by the broker. A send starts when `maxMessages` are buffered or `maxWaitMs` after
 * the first buffered message; what arrives during a send goes out in the next one. One send at a
 * time, so order per key is the order of `send` calls. A failed send is retried, with backoff
 * and a fresh producer, until it succeeds or the producer is closed — messages are never dropped;
 * while the broker is away the buffer fills up to `maxBuffered` messages or MAX_BUFFERED_BYTES,
 * then `send` waits for room.
 */
export class BatchingProducer {
  private readonly queue: Pending[] = []
  private queued = 0
  private queuedBytes = 0
  private timer: NodeJS.Timeout | undefined
  private loop: Promise<void> | undefined
  private readonly roomWaiters: (() => void)[] = []
  /** Sends waiting for room, and the turn of the last of them (see send). */
  private waiting = 0
  private admission: Promise<void> = Promise.resolve()
  private producer: WireProducer | undefined
  private closed = false
  private readonly abort = new AbortController()
  readonly state: ProducerState = { buffered: 0 }
  private readonly m

  constructor(
    private readonly client: WireClient,
    private readonly batch: BatchOptions,
    private readonly maxBuffered: number,
    private readonly retry: { minMs: number; maxMs: number },
    private readonly beforeSend: () => Promise<void>,
    private readonly logger: TransportLogger,
    metrics: TransportMetrics,
  ) {
    this.m = {
      out: metrics.counter('kafka_records_out_total', 'Records acknowledged by Kafka.', ['topic']),
      sends: metrics.counter('kafka_send_batches_total', 'sendBatch requests that succeeded.'),
      errors: metrics.counter('kafka_errors_total', 'Kafka client errors by operation.', ['op']),
      latency: metrics.histogram('kafka_send_seconds', 'Latency of successful sendBatch requests.'),
      buffered: metrics.gauge('kafka_producer_buffered', 'Messages waiting in the producer buffer.'),
    }
  }

  async send(topic: string, messages: WireMessage[]): Promise<void> {
    if (messages.length === 0) return
    if (this.closed) throw new Error(`kafka producer: closed, cannot publish to ${topic}`)
    const bytes = messages.map((m) => m.value.length + Buffer.byteLength(m.key))
    const tooBig = bytes.findIndex((b) => b > MAX_MESSAGE_BYTES)
    if (tooBig >= 0) {
      throw new Error(
        `kafka producer: message with key "${messages[tooBig].key}" to ${topic} is ${bytes[tooBig]} bytes, over the ${MAX_MESSAGE_BYTES} byte limit`,
      )
    }
    // Room is taken in call order: a send made while others wait for room queues behind them,
    // so a caller that does not await each send (ClassifyStage) keeps its keys' order.
    if (this.full() || this.waiting > 0) {
      this.waiting++
      const turn = this.admission.then(() => this.room())
      this.admission = turn
      try {
        await turn
      } finally {
        this.waiting--
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, bytes, taken: 0, acked: 0, resolve, reject })
      for (const b of bytes) this.queuedBytes += b
      this.setQueued(this.queued + messages.length)
      if (this.queued >= this.batch.maxMessages) this.kick()
      else this.timer ??= setTimeout(() => this.kick(), this.batch.maxWaitMs)
    })
  }

  /** Sends everything buffered now and resolves when it is acknowledged. */
  async flush(): Promise<void> {
    const last = this.queue.at(-1)
    if (!last) return this.loop
    const done = new Promise<void>((resolve, reject) => {
      const { resolve: r0, reject: j0 } = last
      last.resolve = () => {
        r0()
        resolve()
      }
      last.reject = (e) => {
        j0(e)
        reject(e)
      }
    })
    this.kick()
    return done
  }

  /** Flushes (retrying as long as it takes; bound it with the shutdown deadline), then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return
    await this.flush()
    this.closed = true
    for (const w of this.roomWaiters.splice(0)) w()
    await this.producer?.disconnect().catch(() => {})
    this.producer = undefined
  }

  /** Gives up at once: pending sends reject. For tests and forced exits. */
  async abortAll(reason: string): Promise<void> {
    this.closed = true
    this.abort.abort()
    for (const p of this.queue.splice(0)) p.reject(new Error(reason))
    this.setQueued(0)
    this.queuedBytes = 0
    for (const w of this.roomWaiters.splice(0)) w()
    await this.loop?.catch(() => {})
    await this.producer?.disconnect().catch(() => {})
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    this.loop ??= this.drain().finally(() => {
      this.loop = undefined
      // Arrived after the last chunk was cut: start the clock for them.
      if (this.queue.some((p) => p.taken < p.messages.length) && !this.abort.signal.aborted) {
        this.timer ??= setTimeout(() => this.kick(), this.batch.maxWaitMs)
      }
    })
  }

  private async drain(): Promise<void> {
    for (;;) {
      const chunk = this.cut()
      if (!chunk) return
      await this.sendWithRetry(chunk)
      if (this.abort.signal.aborted) return
      for (const { entry, n } of chunk.parts) {
        entry.acked += n
        if (entry.acked === entry.messages.length) {
          this.queue.splice(this.queue.indexOf(entry), 1)
          entry.resolve()
        }
      }
      this.setQueued(this.queued - chunk.count)
      this.queuedBytes -= chunk.bytes
      while (!this.full() && this.roomWaiters.length) this.roomWaiters.shift()!()
    }
  }

  /** The next request: up to maxMessages messages and MAX_REQUEST_BYTES bytes, in queue order. */
  private cut(): Chunk | undefined {
    const byTopic = new Map<string, WireMessage[]>()
    const parts: Chunk['parts'] = []
    let count = 0
    let bytes = 0
    for (const entry of this.queue) {
      if (entry.taken === entry.messages.length) continue
      let n = 0
      while (entry.taken + n < entry.messages.length && count < this.batch.maxMessages) {
        const b = entry.bytes[entry.taken + n]
        if (count > 0 && bytes + b > MAX_REQUEST_BYTES) break
        bytes += b
        count++
        n++
      }
      if (n > 0) {
        let list = byTopic.get(entry.topic)
        if (!list) byTopic.set(entry.topic, (list = []))
        for (let i = 0; i < n; i++) list.push(entry.messages[entry.taken + i])
        entry.taken += n
        parts.push({ entry, n })
      }
      if (count >= this.batch.maxMessages || entry.taken < entry.messages.length) break
    }
    if (count === 0) return undefined
    return { topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), count, bytes, parts }
  }

  private async sendWithRetry(chunk: Chunk): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) return
      try {
        await this.beforeSend()
        const producer = await this.connected()
        const t0 = performance.now()
        await producer.sendBatch(chunk.topicMessages)
        this.m.latency.observe((performance.now() - t0) / 1000)
        this.m.sends.inc()
        for (const t of chunk.topicMessages) this.m.out.inc(t.messages.length, { topic: t.topic })
        if (this.state.failingSince !== undefined) {
          this.logger.info('kafka producer: sending again', { afterMs: Date.now() - this.state.failingSince })
        }
        this.state.failingSince = undefined
        this.state.lastError = undefined
        return
      } catch (err) {
        this.m.errors.inc(1, { op: 'send' })
        this.state.failingSince ??= Date.now()
        this.state.lastError = errorText(err)
        const delay = backoffDelay(attempt, this.retry.minMs, this.retry.maxMs)
        this.logger.warn(`kafka producer: send of ${chunk.count} messages failed, retrying in ${delay} ms`, {
          attempt,
          error: this.state.lastError,
        })
        // A new producer gets a new producer id: after a broker restart the old idempotence
        // sequence state may be unknown to the broker and kafkajs never recovers from that.
        const old = this.producer
        this.producer = undefined
        await old?.disconnect().catch(() => {})
        await pause(delay, this.abort.signal)
      }
    }
  }

  private async connected(): Promise<WireProducer> {
    if (this.producer) return this.producer
    const p = this.client.producer()
    await p.connect()
    this.producer = p
    return p
  }

  private async room(): Promise<void> {
    while (this.full() && !this.closed) await new Promise<void>((r) => this.roomWaiters.push(r))
  }

  private full(): boolean {
    return this.queued >= this.maxBuffered || this.queuedBytes >= MAX_BUFFERED_BYTES
  }

  private setQueued(n: number): void {
    this.queued = n
    this.state.buffered = n
    this.m.buffered.set(n)
  }
}
