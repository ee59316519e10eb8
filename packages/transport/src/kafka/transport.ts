import type { DeadLetter, KafkaConfig, TopicKey, TopicMessage } from '@connrca/contracts'
import type { BatchHandler, Message, Publisher, Transport } from '../types.js'
import { createKafkaJsClient } from './client.js'
import { type ConsumerState, type KafkaSubscription, type SubscribeOptions, subscribeKafka } from './consumer.js'
import { encodeFrames, topicRows } from './frame.js'
import { DEFAULT_BATCH, DEFAULT_RETRY, type KafkaTransportOptions, noopLogger, noopMetrics } from './options.js'
import { BatchingProducer, type ProducerState } from './producer.js'
import { ensureTopics, topicName } from './topics.js'

export interface KafkaHealth {
  status: 'ok' | 'degraded'
  details: { producer: ProducerState; consumers: ConsumerState[] }
}

export interface KafkaTransport extends Transport {
  subscribe<K extends TopicKey>(
    topic: K,
    group: string,
    handler: BatchHandler<TopicMessage<K>>,
    opts?: SubscribeOptions,
  ): Promise<KafkaSubscription>
  /** Gives up without flushing: pending publishes reject, consumers leave. For forced exits. */
  abort(reason: string): Promise<void>
  /** `degraded` while the broker is unreachable or a handler keeps failing (retrying meanwhile). */
  health(): KafkaHealth
}

/**
 * The Transport on Kafka: JSON frames (many records of one key per message, `frame.ts`), key = server name (one server's messages stay on one
 * partition, in order), one shared batching producer, one consumer group member per subscribe.
 * Topics are created on first use if missing.
 */
export function createKafkaTransport(cfg: KafkaConfig, opts: KafkaTransportOptions = {}): KafkaTransport {
  const logger = opts.logger ?? noopLogger
  const metrics = opts.metrics ?? noopMetrics
  const retry = opts.retry ?? DEFAULT_RETRY
  const batch = { ...DEFAULT_BATCH, ...opts.batch }
  const client = opts.client ?? createKafkaJsClient(cfg, logger)

  let topicsReady: Promise<void> | undefined
  const ready = (): Promise<void> =>
    (topicsReady ??= ensureTopics(cfg, { client, logger }).catch((err) => {
      topicsReady = undefined // try again on the next send/subscribe
      throw err
    }))

  const producer = new BatchingProducer(
    client,
    batch,
    opts.maxBufferedMessages ?? Math.max(10 * batch.maxMessages, 10_000),
    retry,
    ready,
    logger,
    metrics,
  )
  const subscriptions = new Set<KafkaSubscription>()

  function publisher<K extends TopicKey>(key: K): Publisher<TopicMessage<K>> {
    const topic = topicName(cfg, key)
    const rows = topicRows(key)
    return {
      publish(messages: Message<TopicMessage<K>>[]) {
        return producer.send(topic, encodeFrames(messages, rows))
      },
      flush: () => producer.flush(),
    }
  }

  const deadletters = publisher('deadletter')
  const deadLetter = (letters: DeadLetter[]) =>
    deadletters.publish(letters.map((d) => ({ key: d.server ?? '', value: d })))

  return {
    publisher,
    async subscribe<K extends TopicKey>(
      key: K,
      group: string,
      handler: BatchHandler<TopicMessage<K>>,
      subOpts?: SubscribeOptions,
    ) {
      const deps = { client, logger, metrics, retry, ensureTopics: ready, deadLetter, onDeadLetter: opts.onDeadLetter }
      // The group is namespaced like the topics: kafkajs' group leader assigns the partitions of
      // *its* topics to every member, so two pipelines sharing a group id on one cluster would
      // hand each other partitions that nobody then consumes.
      const groupId = (cfg.topicPrefix ?? '') + group
      const sub = await subscribeKafka(deps, key, topicName(cfg, key), groupId, handler, subOpts)
      subscriptions.add(sub)
      return {
        state: sub.state,
        joined: sub.joined,
        async close() {
          subscriptions.delete(sub)
          await sub.close()
        },
      }
    },
    health() {
      const consumers = [...subscriptions].map((s) => s.state)
      const degraded = producer.state.failingSince !== undefined || consumers.some((c) => c.status === 'retrying')
      return { status: degraded ? 'degraded' : 'ok', details: { producer: { ...producer.state }, consumers } }
    },
    async abort(reason: string) {
      await producer.abortAll(reason)
      await Promise.all([...subscriptions].map((s) => s.close()))
      subscriptions.clear()
    },
    async close() {
      // Consumers first: their last batches may still publish and dead-letter through the producer.
      await Promise.all([...subscriptions].map((s) => s.close()))
      subscriptions.clear()
      await producer.close()
    },
  }
}
