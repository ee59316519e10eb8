import type { TopicKey, TopicMessage } from '@connrca/contracts'

/** key = server name, so one server's messages stay in order (one Kafka partition). */
export interface Message<T> {
  key: string
  value: T
}

/**
 * Receives a batch. Resolving means the batch is durably handled downstream (stored or
 * re-published); only then may the transport commit. Handlers must be idempotent: a
 * redelivered batch (rebalance, restart) must not change any count.
 */
export type BatchHandler<T> = (batch: T[], meta?: BatchMeta) => Promise<void>

/**
 * Where a batch came from, for handlers that keep state per partition (Kafka only; the
 * in-process transport passes nothing). `offsets[i]` is the offset of the message (frame) that
 * carried `batch[i]`; records that failed validation went to the dead-letter topic, no entry.
 */
export interface BatchMeta {
  partition: number
  offsets: string[]
  /** Offset of the batch's first message, valid or not. */
  firstOffset: string
  /** Offset after the batch's last message, valid or not. */
  nextOffset: string
  /**
   * A further part of the same fetched batch follows (Kafka hands a large fetch over in parts):
   * the transport commits only after the last part resolved, so a handler may leave its own
   * commit point to that one. That last part holds no records when every message after the part
   * before it failed validation: it only says where the batch ends.
   */
  more?: boolean
  /**
   * Fetch this partition again from `offset`; the running batch is then not committed. For a
   * handler whose own checkpoint lies before the batch (the group committed past it).
   */
  seek(offset: string): void
}

export interface Publisher<T> {
  /** Resolves once the messages are accepted by the topic (and, in-process, handled). */
  publish(messages: Message<T>[]): Promise<void>
  /** Sends whatever is buffered. */
  flush(): Promise<void>
}

export interface Subscription {
  close(): Promise<void>
}

/** The same interface in-process and on Kafka; a stage never knows which it has. */
export interface Transport {
  publisher<K extends TopicKey>(topic: K): Publisher<TopicMessage<K>>
  subscribe<K extends TopicKey>(topic: K, group: string, handler: BatchHandler<TopicMessage<K>>): Promise<Subscription>
  close(): Promise<void>
}
