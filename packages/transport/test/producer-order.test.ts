import { describe, expect, it } from 'vitest'
import { prng } from '../../../test/support/prng.js'
import type { WireClient, WireMessage } from '../src/kafka/client.js'
import { noopLogger, noopMetrics } from '../src/kafka/options.js'
import { BatchingProducer } from '../src/kafka/producer.js'

/** A client whose sends land in `wire` after a random number of microtask turns. */
function fakeClient(wire: number[], random: () => number): WireClient {
  return {
    admin: () => {
      throw new Error('not used')
    },
    consumer: () => {
      throw new Error('not used')
    },
    producer: () => ({
      connect: async () => {},
      disconnect: async () => {},
      async sendBatch(topicMessages: { topic: string; messages: WireMessage[] }[]) {
        for (let i = Math.floor(random() * 4); i > 0; i--) await null
        for (const t of topicMessages) for (const m of t.messages) wire.push(Number(m.value.toString()))
      },
    }),
  }
}

describe('BatchingProducer: order of sends that do not await each other', () => {
  it('keeps the call order of sends made while others wait for room, at every interleaving tried', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      // seeded: the interleavings are the same every run, another seed is another set of them
      const random = prng(seed).next
      const wire: number[] = []
      // room for two messages, one message per request: most sends wait for room
      const producer = new BatchingProducer(
        fakeClient(wire, random),
        { maxMessages: 1, maxWaitMs: 1 },
        2,
        { minMs: 1, maxMs: 1 },
        async () => {},
        noopLogger,
        noopMetrics,
      )
      let calls = 0
      const send = () => {
        const k = calls++
        return producer.send('t', [{ key: 'server-a', value: Buffer.from(String(k)) }])
      }
      // callers as ClassifyStage is one: a send per batch, not awaiting the one before; some
      // start after a few microtask turns, some when an earlier send was acknowledged
      const all: Promise<void>[] = []
      for (let i = 0; i < 60; i++) {
        const hops = Math.floor(random() * 6)
        if (hops === 0) all.push(send())
        else if (hops === 5) all.push(all[all.length - 1]?.then(send) ?? send())
        else
          all.push(
            (async () => {
              for (let h = 0; h < hops; h++) await null
              return send()
            })(),
          )
        if (random() < 0.3) await null
      }
      await Promise.all(all)
      await producer.close()
      expect(wire, `seed ${seed}`).toEqual([...wire].sort((a, b) => a - b))
      expect(wire.length).toBe(60)
    }
  })
})
