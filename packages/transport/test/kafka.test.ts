import type { DeadLetter, LogRecord } from '@connrca/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureKafka, kafkaTests } from '../../../test/support/kafka.js'
import {
  createKafkaJsClient,
  createKafkaTransport,
  ensureTopics,
  type KafkaTransport,
  topicName,
} from '../src/index.js'
import { countingClient, logRecord, testConfig, testLogger, waitFor } from './kafka-helpers.js'

describe.skipIf(kafkaTests.skip)('Kafka transport (real broker)', () => {
  let brokers: string
  const open: KafkaTransport[] = []
  const transport = (...args: Parameters<typeof createKafkaTransport>) => {
    const t = createKafkaTransport(args[0], { logger: testLogger, retry: { minMs: 50, maxMs: 500 }, ...args[1] })
    open.push(t)
    return t
  }

  beforeAll(async () => {
    brokers = await ensureKafka()
  })
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()))
  })

  it('creates the four topics with the configured partitions, idempotently', async () => {
    const cfg = testConfig(brokers, 4)
    await Promise.all([ensureTopics(cfg), ensureTopics(cfg)])
    await ensureTopics(cfg)
    const admin = createKafkaJsClient(cfg, testLogger).admin()
    await admin.connect()
    const names = (['logs', 'connections', 'rca', 'deadletter'] as const).map((k) => topicName(cfg, k))
    const found = await admin.describeTopics(names)
    await admin.disconnect()
    expect([...found.entries()].sort()).toEqual(names.map((n) => [n, 4]).sort())
    expect(names[0]).toBe(`${cfg.topicPrefix}connrca.logs.v1`)
  })

  it('round-trips validated messages and keeps each server in order on one partition', async () => {
    const cfg = testConfig(brokers, 3)
    const t = transport(cfg)
    const servers = ['orders-prod', 'billing', 'auth-db', 'search', 'reports', 'crm']
    const got: LogRecord[] = []
    const sub = await t.subscribe('logs', 'roundtrip', async (batch) => {
      got.push(...batch)
    })
    await sub.joined
    const pub = t.publisher('logs')
    const sent: LogRecord[] = []
    // Interleaved publishes, several batches per server.
    for (let round = 0; round < 5; round++) {
      const msgs = []
      for (let i = 0; i < 60; i++) {
        const r = logRecord(servers[i % servers.length], round * 60 + i)
        sent.push(r)
        msgs.push({ key: r.server, value: r })
      }
      await pub.publish(msgs)
    }
    await waitFor(() => got.length >= sent.length, 20_000, `${sent.length} records`)
    expect(got.length).toBe(sent.length)
    expect(new Map(got.map((r) => [r.id, r]))).toEqual(new Map(sent.map((r) => [r.id, r])))
    for (const s of servers) {
      const seqs = got.filter((r) => r.server === s).map((r) => r.pid!)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      expect(seqs.length).toBe(50)
    }
    expect(t.health().status).toBe('ok')
  })

  it('commits only after the handler resolved: a throwing handler leaves the batch for the next member', async () => {
    const cfg = testConfig(brokers, 1)
    const t1 = transport(cfg)
    let attempts = 0
    const failing = await t1.subscribe('logs', 'commit', async () => {
      attempts++
      throw new Error('store down')
    })
    await failing.joined
    await t1.publisher('logs').publish(Array.from({ length: 20 }, (_, i) => ({ key: 's', value: logRecord('s', i) })))
    await waitFor(() => attempts >= 2, 10_000, 'handler retries')
    expect(t1.health().status).toBe('degraded')
    expect(failing.state.lastError).toBe('store down')
    await failing.close()

    // Same group, after the "restart": everything comes again, and is committed this time.
    const t2 = transport(cfg)
    const second: string[] = []
    const ok = await t2.subscribe('logs', 'commit', async (b) => {
      second.push(...b.map((r) => r.id))
    })
    await waitFor(() => second.length >= 20, 15_000, 'redelivery')
    expect(new Set(second).size).toBe(20)
    await ok.close()

    // Committed: a third member of the group sees only what is new.
    const t3 = transport(cfg)
    const third: string[] = []
    const again = await t3.subscribe('logs', 'commit', async (b) => {
      third.push(...b.map((r) => r.id))
    })
    await again.joined
    await t3.publisher('logs').publish([{ key: 's', value: logRecord('s', 99) }])
    await waitFor(() => third.length >= 1, 10_000, 'the new record')
    await new Promise((r) => setTimeout(r, 500))
    expect(third).toEqual(['s:99'])
  })

  it('sends invalid messages to the dead-letter topic with the reason and moves on', async () => {
    const cfg = testConfig(brokers, 1)
    await ensureTopics(cfg)
    const raw = createKafkaJsClient(cfg, testLogger).producer()
    await raw.connect()
    const { source: _omit, ...noSource } = logRecord('db1', 2)
    await raw.sendBatch([
      {
        topic: topicName(cfg, 'logs'),
        messages: [
          { key: 'db1', value: Buffer.from(JSON.stringify(logRecord('db1', 1))) },
          { key: 'db1', value: Buffer.from('{not json') },
          { key: 'db1', value: Buffer.from(JSON.stringify(noSource)) },
          { key: 'db1', value: Buffer.from(JSON.stringify({ ...logRecord('db1', 3), severity: 'LOUD' })) },
          { key: 'db1', value: Buffer.from(JSON.stringify(logRecord('db1', 4))) },
        ],
      },
    ])
    await raw.disconnect()

    const reported: DeadLetter[] = []
    const t = transport(cfg, { onDeadLetter: (d) => reported.push(d) })
    const good: string[] = []
    await t.subscribe('logs', 'validate', async (b) => {
      good.push(...b.map((r) => r.id))
    })
    const letters: DeadLetter[] = []
    await t.subscribe('deadletter', 'dlq-reader', async (b) => {
      letters.push(...b)
    })
    await waitFor(() => good.length >= 2 && letters.length >= 3, 15_000, 'valid records and dead letters')
    expect(good).toEqual(['db1:1', 'db1:4'])
    expect(reported).toHaveLength(3)
    const reasons = letters.map((l) => l.reason).sort()
    expect(reasons[0]).toMatch(/offset 1: not JSON/)
    expect(reasons[1]).toMatch(/offset 2: does not match connrca\.logs\.v1: source: /)
    expect(reasons[2]).toMatch(/offset 3: does not match connrca\.logs\.v1: severity: /)
    expect(letters.every((l) => l.stage === 'validate' && l.server === 'db1')).toBe(true)
    expect(letters.find((l) => l.reason.includes('offset 1'))?.raw).toBe('{not json')
  })

  it('frames one publish per key: few messages, every record once and in order, a bad element one dead letter', async () => {
    const cfg = testConfig(brokers, 2)
    const { client, sends } = countingClient(cfg)
    const t = transport(cfg, { client })
    const got: LogRecord[] = []
    const sub = await t.subscribe('logs', 'frames', async (b, meta) => {
      got.push(...b)
      // Every record of a frame carries its message's offset: a runner skips whole frames only.
      expect(meta?.offsets).toHaveLength(b.length)
    })
    await sub.joined
    // Three servers, 4,500 records of ~240 bytes each: ~350 kB per server, two frames each.
    const sent = Array.from({ length: 4500 }, (_, i) => logRecord(`db${i % 3}`, i))
    await t.publisher('logs').publish(sent.map((r) => ({ key: r.server, value: r })))
    const frames = sends.reduce((a, b) => a + b, 0)
    expect(frames).toBeGreaterThanOrEqual(6)
    expect(frames).toBeLessThanOrEqual(6)
    await waitFor(() => got.length >= sent.length, 20_000, `${sent.length} records`)
    for (const s of ['db0', 'db1', 'db2']) {
      expect(got.filter((r) => r.server === s).map((r) => r.pid)).toEqual(
        sent.filter((r) => r.server === s).map((r) => r.pid),
      )
    }

    // A frame from another producer with one broken element: its neighbours are delivered.
    const letters: DeadLetter[] = []
    await t.subscribe('deadletter', 'frames-dlq', async (b) => void letters.push(...b))
    const raw = createKafkaJsClient(cfg, testLogger).producer()
    await raw.connect()
    const broken = { ...logRecord('db0', 9001), severity: 'LOUD' }
    const frame = [logRecord('db0', 9000), broken, logRecord('db0', 9002)]
    await raw.sendBatch([{ topic: topicName(cfg, 'logs'), messages: [{ key: 'db0', value: Buffer.from(JSON.stringify(frame)) }] }])
    await raw.disconnect()
    await waitFor(() => got.length >= sent.length + 2 && letters.length >= 1, 15_000, 'the frame')
    expect(got.slice(sent.length).map((r) => r.pid)).toEqual([9000, 9002])
    expect(letters).toHaveLength(1)
    expect(letters[0].reason).toMatch(/offset \d+\/1: does not match connrca\.logs\.v1: severity: /)
    expect(JSON.parse(letters[0].raw)).toEqual(broken)
  })

  it('hands a large fetch over in parts: every part but the last says more, the offsets run on, each record once', async () => {
    const cfg = testConfig(brokers, 1)
    const t = transport(cfg)
    // ~4 MB of frames for one key, all on the topic before the consumer joins: its first fetch
    // (1 MiB of lz4 per partition) holds several 1 MiB parts.
    const sent = Array.from({ length: 16_000 }, (_, i) => logRecord('db0', i))
    await t.publisher('logs').publish(sent.map((r) => ({ key: r.server, value: r })))
    const got: number[] = []
    const parts: { first: string; next: string; more: boolean }[] = []
    const sub = await t.subscribe('logs', 'parts', async (b, meta) => {
      got.push(...b.map((r) => r.pid as number))
      parts.push({ first: meta!.firstOffset, next: meta!.nextOffset, more: meta!.more === true })
    })
    await sub.joined
    await waitFor(() => got.length >= sent.length, 20_000, `${sent.length} records`)
    expect(got).toEqual(sent.map((r) => r.pid))
    expect(parts.filter((p) => p.more).length).toBeGreaterThan(0)
    expect(parts.at(-1)?.more).toBe(false)
    for (let i = 1; i < parts.length; i++) expect(parts[i].first).toBe(parts[i - 1].next)
  })

  it('a fetch whose last parts hold only invalid messages still ends with a part that says no more', async () => {
    const cfg = testConfig(brokers, 1)
    await ensureTopics(cfg)
    // one produce request: valid frames (~1.6 MB) then ~1.6 MB of invalid messages, one fetch
    const frames = Array.from({ length: 6 }, (_, f) =>
      Array.from({ length: 800 }, (_, i) => logRecord('db0', f * 800 + i)),
    )
    const raw = createKafkaJsClient(cfg, testLogger).producer()
    await raw.connect()
    await raw.sendBatch([
      {
        topic: topicName(cfg, 'logs'),
        messages: [
          ...frames.map((fr) => ({ key: 'db0', value: Buffer.from(JSON.stringify(fr)) })),
          ...Array.from({ length: 8 }, () => ({ key: 'db0', value: Buffer.from('x'.repeat(200_000)) })),
        ],
      },
    ])
    await raw.disconnect()
    const t = transport(cfg)
    const got: number[] = []
    const parts: { records: number; first: string; next: string; more: boolean }[] = []
    const sub = await t.subscribe('logs', 'dead-tail', async (b, meta) => {
      got.push(...b.map((r) => r.pid as number))
      parts.push({ records: b.length, first: meta!.firstOffset, next: meta!.nextOffset, more: meta!.more === true })
    })
    await sub.joined
    await waitFor(() => parts.at(-1)?.next === '14', 20_000, 'the end of the 14 messages')
    expect(got).toEqual(frames.flat().map((r) => r.pid))
    expect(parts.filter((p) => p.more).length).toBeGreaterThan(0)
    expect(parts.at(-1)).toMatchObject({ records: 0, more: false, next: '14' })
    for (let i = 1; i < parts.length; i++) expect(parts[i].first).toBe(parts[i - 1].next)
  })

  it('pipelines with different topic prefixes on one cluster do not share a consumer group', async () => {
    // Without the prefix in the group id, the group leader (kafkajs) hands its own topics'
    // partitions to every member: one of the two pipelines would receive nothing.
    const cfgs = [testConfig(brokers, 2), testConfig(brokers, 2)]
    const got = cfgs.map(() => [] as LogRecord[])
    const ts = cfgs.map((c) => transport(c))
    const subs = await Promise.all(
      ts.map((t, i) => t.subscribe('logs', 'same-name', async (b) => void got[i].push(...b))),
    )
    await Promise.all(subs.map((s) => s.joined))
    expect(subs.map((s) => s.state.group)).toEqual(cfgs.map((c) => `${c.topicPrefix}same-name`))
    await Promise.all(ts.map((t, i) => t.publisher('logs').publish([{ key: 'a', value: logRecord('a', i) }])))
    await waitFor(() => got.every((g) => g.length === 1), 20_000, 'one record in each pipeline')
    expect(got.map((g) => g[0].pid)).toEqual([0, 1])
  })

  it('two members of one group split the partitions and together see every message once', async () => {
    const cfg = testConfig(brokers, 4)
    const seen = [new Set<string>(), new Set<string>()]
    const deliveries = [0, 0]
    const ta = transport(cfg)
    const tb = transport(cfg)
    const a = await ta.subscribe('connections', 'pair', async (b) => {
      deliveries[0] += b.length
      for (const e of b) seen[0].add(e.id)
    })
    const b = await tb.subscribe('connections', 'pair', async (batch) => {
      deliveries[1] += batch.length
      for (const e of batch) seen[1].add(e.id)
    })
    await Promise.all([a.joined, b.joined])
    await waitFor(
      () =>
        a.state.partitions.length + b.state.partitions.length === 4 &&
        a.state.partitions.length > 0 &&
        b.state.partitions.length > 0,
      15_000,
      'both members assigned',
    )
    expect([...a.state.partitions, ...b.state.partitions].sort()).toEqual([0, 1, 2, 3])

    const pub = ta.publisher('connections')
    const total = 400
    for (let i = 0; i < total; i += 100) {
      await pub.publish(
        Array.from({ length: 100 }, (_, j) => {
          const n = i + j
          const server = `srv-${n % 20}`
          return {
            key: server,
            value: {
              id: `c${n}`,
              server,
              time: n,
              outcome: 'failed' as const,
              category: 'auth_fail' as const,
              message: 'x',
            },
          }
        }),
      )
    }
    await waitFor(() => seen[0].size + seen[1].size >= total, 20_000, 'all messages')
    await new Promise((r) => setTimeout(r, 300))
    const union = new Set([...seen[0], ...seen[1]])
    expect(union.size).toBe(total)
    expect([...seen[0]].filter((id) => seen[1].has(id))).toEqual([])
    expect(deliveries[0] + deliveries[1]).toBe(total)
    expect(seen[0].size).toBeGreaterThan(0)
    expect(seen[1].size).toBeGreaterThan(0)

    // One member leaves: the other takes over its partitions and gets what follows.
    await b.close()
    await waitFor(() => a.state.partitions.length === 4, 15_000, 'takeover')
    await pub.publish(
      Array.from({ length: 40 }, (_, n) => ({
        key: `srv-${n}`,
        value: { id: `late${n}`, server: `srv-${n}`, time: n, outcome: 'received' as const, message: 'x' },
      })),
    )
    await waitFor(() => [...seen[0]].filter((id) => id.startsWith('late')).length === 40, 15_000, 'after takeover')
  }, 60_000)

  it('batches many small publishes into few sendBatch calls and flushes on the time bound', async () => {
    const cfg = testConfig(brokers, 3)
    const { client, sends } = countingClient(cfg)
    const t = transport(cfg, { client, batch: { maxMessages: 200, maxWaitMs: 150 } })
    const pub = t.publisher('logs')
    await pub.publish([{ key: 'warmup', value: logRecord('warmup', 0) }])
    sends.length = 0

    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => pub.publish([{ key: `s${i % 9}`, value: logRecord(`s${i % 9}`, i) }])),
    )
    expect(sends.reduce((a, b) => a + b, 0)).toBe(1000)
    expect(sends.length).toBeLessThanOrEqual(10)
    expect(Math.max(...sends)).toBeLessThanOrEqual(200)

    // Below the size bound: nothing is sent until maxWaitMs passed, then one request.
    sends.length = 0
    const t0 = performance.now()
    await Promise.all([1, 2, 3].map((i) => pub.publish([{ key: 'x', value: logRecord('x', i) }])))
    const waited = performance.now() - t0
    expect(sends).toEqual([3])
    expect(waited).toBeGreaterThanOrEqual(140)
    expect(waited).toBeLessThan(2000)

    // flush() does not wait for the time bound.
    sends.length = 0
    const t1 = performance.now()
    const p = pub.publish([{ key: 'y', value: logRecord('y', 1) }])
    await pub.flush()
    await p
    expect(performance.now() - t1).toBeLessThan(140)
    expect(sends).toEqual([1])
  })
})
