import type { KafkaConfig } from '@connrca/contracts'
import kafkajs, {
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
} from 'kafkajs'
import type { TransportLogger } from './options.js'

/**
 * The narrow Kafka client surface the transport uses. This file is the only one that imports
 * kafkajs (unmaintained since 2023): swapping to another client, e.g. the KafkaJS-compatible API
 * of @confluentinc/kafka-javascript, means writing another `WireClient` here and nothing else.
 */
export interface WireClient {
  admin(): WireAdmin
  producer(): WireProducer
  consumer(group: string): WireConsumer
}

export interface WireAdmin {
  connect(): Promise<void>
  /** Topic name → partition count, for the given names that exist. */
  describeTopics(names: string[]): Promise<Map<string, number>>
  /** Creates topics; one that already exists is not an error. */
  createTopics(topics: { topic: string; partitions: number; replicationFactor: number }[]): Promise<void>
  disconnect(): Promise<void>
}

export interface WireMessage {
  key: string
  /** UTF-8 bytes: encoded once, so neither the producer's size check nor kafkajs encodes the text again */
  value: Buffer
}

export interface WireProducer {
  connect(): Promise<void>
  /** One request per broker for everything given; resolves when all replicas acknowledged. */
  sendBatch(topicMessages: { topic: string; messages: WireMessage[] }[]): Promise<void>
  disconnect(): Promise<void>
}

export interface WireRecord {
  offset: string
  key: Buffer | null
  value: Buffer | null
}

export interface WireBatch {
  topic: string
  partition: number
  highWatermark: string
  messages: WireRecord[]
  /** Keeps the group membership alive during a long handler; throws when a rebalance started. */
  heartbeat(): Promise<void>
  /** False once the consumer is stopping. */
  isRunning(): boolean
  /** True when the partition was revoked or seeked: the batch must not be committed. */
  isStale(): boolean
  /** Commits `nextOffset` (the offset of the next message to read) for this partition. */
  commit(nextOffset: string): Promise<void>
  /** The next fetch of this partition starts at `offset`; makes the batch stale. */
  seek(offset: string): void
}

export interface WireConsumer {
  connect(): Promise<void>
  subscribe(topic: string): Promise<void>
  run(eachBatch: (batch: WireBatch) => Promise<void>): Promise<void>
  /** Partitions of this member after every (re)join of the group. */
  onJoin(cb: (partitions: Record<string, number[]>) => void): void
  /** The client gave up on the consumer; `willRestart` says whether it restarts it itself. */
  onCrash(cb: (err: Error, willRestart: boolean) => void): void
  disconnect(): Promise<void>
}

const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, lz4: CompressionTypes.LZ4 } as const

// kafkajs ships gzip only. LZ4 (Kafka's LZ4 frame format) from lz4-napi's prebuilt binaries,
// loaded on first use (commands without Kafka never load it); consumers need it registered as
// well, whatever their producer uses.
const lz4 = () => import('lz4-napi')
// (Through the default export: Node's ESM loader does not see it among kafkajs's named exports.)
kafkajs.CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => (await lz4()).compressFrame(encoder.buffer),
  decompress: async (buffer: Buffer) => (await lz4()).decompressFrame(buffer),
})

export function createKafkaJsClient(cfg: KafkaConfig, logger: TransportLogger): WireClient {
  const kafka = new Kafka({
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => forwardLog(entry, logger),
    // Fail a connection attempt quickly and let our own backoff (not kafkajs's) decide what next.
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3000 },
  })
  const compression = CODECS[cfg.compression ?? 'lz4']

  return {
    admin() {
      const admin = kafka.admin()
      return {
        connect: () => admin.connect(),
        async describeTopics(names) {
          const existing = new Set(await admin.listTopics())
          const wanted = names.filter((n) => existing.has(n))
          const out = new Map<string, number>()
          if (wanted.length === 0) return out
          const meta = await admin.fetchTopicMetadata({ topics: wanted })
          for (const t of meta.topics) out.set(t.name, t.partitions.length)
          return out
        },
        async createTopics(topics) {
          await admin.createTopics({
            waitForLeaders: true,
            topics: topics.map((t) => ({
              topic: t.topic,
              numPartitions: t.partitions,
              replicationFactor: t.replicationFactor,
            })),
          })
        },
        disconnect: () => admin.disconnect(),
      }
    },

    producer() {
      const producer = kafka.producer({
        idempotent: true,
        // Idempotence in kafkajs requires one request in flight; it also keeps per-key order.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // murmur2, the Java client's partitioner: the same key lands on the same partition from any client.
        createPartitioner: Partitioners.DefaultPartitioner,
        // Bounded so a dead broker surfaces as an error (health: degraded) instead of an endless
        // silent retry inside kafkajs; the batching producer above retries with its own backoff.
        retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3000 },
      })
      return {
        connect: () => producer.connect(),
        async sendBatch(topicMessages) {
          await producer.sendBatch({ topicMessages, acks: -1, compression })
        },
        disconnect: () => producer.disconnect(),
      }
    },

    consumer(group) {
      const consumer: Consumer = kafka.consumer({
        groupId: group,
        allowAutoTopicCreation: false,
        sessionTimeout: cfg.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: cfg.heartbeatIntervalMs ?? 3000,
        maxWaitTimeInMs: 500,
      })
      return {
        connect: () => consumer.connect(),
        subscribe: (topic) => consumer.subscribe({ topic, fromBeginning: true }),
        async run(eachBatch) {
          await consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: (p: EachBatchPayload) =>
              eachBatch({
                topic: p.batch.topic,
                partition: p.batch.partition,
                highWatermark: p.batch.highWatermark,
                messages: p.batch.messages,
                heartbeat: p.heartbeat,
                isRunning: p.isRunning,
                isStale: p.isStale,
                async commit(nextOffset) {
                  p.resolveOffset(String(BigInt(nextOffset) - 1n))
                  await p.commitOffsetsIfNecessary({
                    topics: [
                      { topic: p.batch.topic, partitions: [{ partition: p.batch.partition, offset: nextOffset }] },
                    ],
                  })
                },
                seek: (offset) => consumer.seek({ topic: p.batch.topic, partition: p.batch.partition, offset }),
              }),
          })
        },
        onJoin(cb) {
          consumer.on(consumer.events.GROUP_JOIN, (e) => cb(e.payload.memberAssignment))
        },
        onCrash(cb) {
          consumer.on(consumer.events.CRASH, (e) => cb(e.payload.error, e.payload.restart))
        },
        disconnect: () => consumer.disconnect(),
      }
    },
  }
}

function forwardLog(entry: LogEntry, logger: TransportLogger): void {
  const { message, ...fields } = entry.log
  // Expected with bounded retries, said once per producer; not worth a warning.
  if (message?.startsWith('Limiting retries for the idempotent producer')) return
  const line = `kafkajs ${entry.namespace}: ${message}`
  if (entry.level === logLevel.ERROR) logger.error(line, fields)
  else if (entry.level === logLevel.WARN) logger.warn(line, fields)
  else logger.debug(line, fields)
}
