import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kafkaTests, type PrivateBroker, startPrivateKafka } from '../../../test/support/kafka.js'
import { createKafkaTransport, type KafkaTransport } from '../src/index.js'
import { logRecord, testConfig, testLogger, waitFor } from './kafka-helpers.js'

// Its own broker: stopping the shared one would break test files running in parallel.
const PORT = 19192

describe.skipIf(kafkaTests.skip)('Kafka transport across a broker restart', () => {
  let broker: PrivateBroker
  let t: KafkaTransport | undefined

  beforeAll(async () => {
    broker = await startPrivateKafka(PORT)
  })
  afterAll(async () => {
    // abort, not close: after a failure the broker may be down and close would retry forever.
    await t?.abort('test over')
    await broker?.destroy()
  })

  it('producer retries while the broker is away, health says degraded, nothing is lost', async () => {
    const cfg = testConfig(broker.brokers, 3)
    t = createKafkaTransport(cfg, {
      logger: testLogger,
      retry: { minMs: 100, maxMs: 1000 },
      batch: { maxMessages: 50, maxWaitMs: 20 },
    })
    const live = new Set<string>()
    const sub = await t.subscribe('logs', 'survivor', async (b) => {
      for (const r of b) live.add(r.id)
    })
    await sub.joined
    const pub = t.publisher('logs')

    const sent: string[] = []
    let stopProducing = false
    let batches = 0
    const producing = (async () => {
      for (let i = 0; !stopProducing; i++) {
        const msgs = Array.from({ length: 20 }, (_, j) => {
          const r = logRecord(`srv-${j % 5}`, i * 20 + j)
          return { key: r.server, value: r }
        })
        await pub.publish(msgs)
        for (const m of msgs) sent.push(m.value.id)
        batches++
        await new Promise((r) => setTimeout(r, 30))
      }
    })()

    await waitFor(() => batches >= 10, 20_000, 'first batches')
    await broker.stop()
    await waitFor(() => t!.health().details.producer.failingSince !== undefined, 30_000, 'producer to fail')
    expect(t.health().status).toBe('degraded')
    expect(t.health().details.producer.lastError).toBeTruthy()
    const buffered = t.health().details.producer.buffered
    expect(buffered).toBeGreaterThan(0)
    await broker.start()
    await waitFor(() => batches >= 30, 60_000, 'publishing to resume')
    stopProducing = true
    await producing
    await pub.flush()
    expect(t.health().details.producer.failingSince).toBeUndefined()

    // The member that lived through the outage gets everything...
    await waitFor(() => live.size >= sent.length, 60_000, `consumer to catch up (${live.size}/${sent.length})`)
    expect(sent.every((id) => live.has(id))).toBe(true)

    // ...and so does a fresh group reading the topic from the start: nothing was lost.
    const fresh = new Set<string>()
    const sub2 = await t.subscribe('logs', 'auditor', async (b) => {
      for (const r of b) fresh.add(r.id)
    })
    await waitFor(() => fresh.size >= sent.length, 30_000, 'fresh group')
    expect(fresh.size).toBe(new Set(sent).size)
    await sub2.close()
    await waitFor(() => t!.health().status === 'ok', 30_000, 'health back to ok')
  }, 120_000)
})
