import type { ConnectionEvent, LogRecord } from '@connrca/contracts'
import type { Message, Publisher } from '@connrca/transport'
import { describe, expect, it } from 'vitest'
import { ClassifyStage } from '../../src/stages/classify.js'

const received = (i: number): LogRecord => ({
  id: `r${i}`,
  server: 'db-1',
  time: 1_772_409_600_000 + i,
  severity: 'LOG',
  message: `connection received: host=10.0.0.${i % 250} port=${40_000 + i}`,
  pid: 1000 + i,
  source: { kind: 'file', name: 'db-1.log', position: i * 100 },
})

/** A topic that acknowledges a publish only when told to. */
function heldTopic() {
  const published: Message<ConnectionEvent>[][] = []
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = []
  let flushes = 0
  const out: Publisher<ConnectionEvent> = {
    publish(messages) {
      published.push(messages)
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }))
    },
    async flush() {
      flushes++
    },
  }
  return { out, published, pending, flushes: () => flushes }
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false
  void p.then(
    () => (done = true),
    () => (done = true),
  )
  for (let i = 0; i < 10; i++) await null
  return done
}

describe('ClassifyStage on a topic', () => {
  it('hands on a batch without waiting for the acknowledgment; flush() waits for every one', async () => {
    const topic = heldTopic()
    const stage = new ClassifyStage(topic.out)
    // handle() resolves while the topic still holds both publishes: the next batch is classified meanwhile
    expect(await settled(stage.handle([received(1), received(2)]))).toBe(true)
    expect(await settled(stage.handle([received(3)]))).toBe(true)
    expect(topic.published.map((b) => b.map((m) => m.value.id))).toEqual([['r1', 'r2'], ['r3']])
    const flushed = stage.flush()
    expect(await settled(flushed)).toBe(false)
    topic.pending[0].resolve()
    expect(await settled(flushed)).toBe(false)
    topic.pending[1].resolve()
    await flushed
    expect(topic.flushes()).toBe(1)
    expect(stage.eventsOut).toBe(3)
  })

  it('a publish the topic refused fails the flush that follows (the commit point), not the process', async () => {
    const topic = heldTopic()
    const stage = new ClassifyStage(topic.out)
    await stage.handle([received(1)])
    // refused before anyone waits for it: no unhandled rejection (vitest fails the run on one)
    topic.pending[0].reject(new Error('broker gone'))
    for (let i = 0; i < 10; i++) await null
    await expect(stage.flush()).rejects.toThrow('broker gone')
    // what was refused is not waited for again: a stage the runner keeps would not fail forever
    await expect(stage.flush()).resolves.toBeUndefined()
  })
})
