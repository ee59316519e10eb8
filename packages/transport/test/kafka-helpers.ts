import { randomBytes } from 'node:crypto'
import { type KafkaConfig, KafkaConfig as KafkaConfigSchema, type LogRecord } from '@connrca/contracts'
import { createKafkaJsClient, type TransportLogger, type WireClient } from '../src/index.js'

/** A fresh topic namespace per test: the shared broker keeps topics between runs. */
export function testConfig(brokers: string, partitions = 3): KafkaConfig {
  return KafkaConfigSchema.parse({
    brokers: brokers.split(','),
    clientId: 'connrca-test',
    partitions,
    topicPrefix: `t${randomBytes(4).toString('hex')}.`,
    // Quick rebalances: a member that left or died is noticed within seconds.
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
  })
}

export function logRecord(server: string, seq: number): LogRecord {
  return {
    id: `${server}:${seq}`,
    server,
    time: 1_700_000_000_000 + seq,
    severity: 'FATAL',
    sqlstate: '28P01',
    message: `password authentication failed for user "app${seq % 7}"`,
    pid: seq,
    clientIp: `10.0.0.${seq % 250}`,
    source: { kind: 'file', name: `${server}.log`, position: seq * 100 },
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Logs warnings and errors only when KAFKA_TEST_VERBOSE is set; keeps test output readable. */
export const testLogger: TransportLogger = {
  debug() {},
  info() {},
  warn: (msg, fields) => process.env.KAFKA_TEST_VERBOSE && console.warn(msg, fields ?? ''),
  error: (msg, fields) => process.env.KAFKA_TEST_VERBOSE && console.error(msg, fields ?? ''),
}

/** The kafkajs client with every sendBatch counted. */
export function countingClient(cfg: KafkaConfig): { client: WireClient; sends: number[] } {
  const inner = createKafkaJsClient(cfg, testLogger)
  const sends: number[] = []
  return {
    sends,
    client: {
      admin: () => inner.admin(),
      consumer: (g) => inner.consumer(g),
      producer() {
        const p = inner.producer()
        return {
          connect: () => p.connect(),
          disconnect: () => p.disconnect(),
          async sendBatch(tm) {
            await p.sendBatch(tm)
            sends.push(tm.reduce((n, t) => n + t.messages.length, 0))
          },
        }
      },
    },
  }
}
