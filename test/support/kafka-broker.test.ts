import { readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kafkaTests, type PrivateBroker, startPrivateKafka } from './kafka.js'

// Its own broker (19192, 19196 and the shared 19092 belong to other test files).
const PORT = 19194

describe.skipIf(kafkaTests.skip)('infra/kafka/broker.sh', () => {
  let broker: PrivateBroker

  beforeAll(async () => {
    broker = await startPrivateKafka(PORT)
  })
  afterAll(async () => {
    await broker?.destroy()
  })

  it('a running broker stays ready after its log rolled away from the "Kafka Server started" line', async () => {
    expect(await broker.status()).toBe(`127.0.0.1:${PORT}`)
    // What log4j does at 20 MB (CI's broker got there while the suite ran: a test file calling
    // `start` afterwards waited 90 s for a line no longer in server.log, and failed).
    const logs = join(broker.stateDir, 'logs')
    renameSync(join(logs, 'server.log'), join(logs, 'server.log.1'))
    expect(await broker.status()).toBe(`127.0.0.1:${PORT}`)
    const t0 = Date.now()
    await broker.start()
    expect(Date.now() - t0).toBeLessThan(5_000)
  })

  it('a restart is ready again; what it remembers is the new process', async () => {
    const pid = () => readFileSync(join(broker.stateDir, 'broker.pid'), 'utf8').trim()
    const before = pid()
    await broker.restart()
    expect(await broker.status()).toBe(`127.0.0.1:${PORT}`)
    expect(pid()).not.toBe(before)
    expect(readFileSync(join(broker.stateDir, 'ready'), 'utf8').trim()).toBe(pid())
  })
})
