import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { LogRecord } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { Batcher } from '../../src/sources/batcher.js'
import type { Deliver, SourceBatch } from '../../src/sources/types.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const record = (i: number) => ({ id: `r${i}`, message: 'x'.repeat(100) }) as unknown as LogRecord

/** A deliver that never resolves until `ack()`, optionally taking the batch over. */
function slowDeliver(takesBatch: boolean) {
  let ack = () => {}
  const batches: number[] = []
  const fn = (b: SourceBatch) => {
    batches.push(b.records.length)
    return new Promise<void>((resolve) => {
      ack = resolve
    })
  }
  return { deliver: Object.assign(fn, { takesBatch }) as Deliver, batches, ack: () => ack() }
}

/** Whether a record added to a batch that is being delivered is still reachable. */
async function keptWhileDelivering(takesBatch: boolean): Promise<boolean> {
  const d = slowDeliver(takesBatch)
  const b = new Batcher(d.deliver, { maxRecords: 3 })
  let ref: WeakRef<LogRecord> | undefined
  ;(() => {
    const r = record(0)
    ref = new WeakRef(r)
    b.add(r)
    b.add(record(1))
    b.add(record(2)) // full: sealed and handed to deliver
  })()
  await new Promise((r) => setTimeout(r, 0))
  gc()
  const kept = ref!.deref() !== undefined
  d.ack()
  await b.flush()
  expect(d.batches).toEqual([3])
  return kept
}

describe('Batcher with a deliver that takes the batch', () => {
  it('keeps no record of a batch while deliver awaits its acknowledgment (one that does not take it keeps them)', async () => {
    expect(await keptWhileDelivering(false)).toBe(true)
    expect(await keptWhileDelivering(true)).toBe(false)
  })

  it('hands each batch over once: a rejection is not retried, stops the batcher and commits nothing', async () => {
    let calls = 0
    const deliver = Object.assign(
      async () => {
        calls++
        throw new Error('producer closed')
      },
      { takesBatch: true },
    )
    const b = new Batcher(deliver, { maxRecords: 2 })
    let committed = false
    b.add(record(1))
    b.mark(() => {
      committed = true
    })
    await b.flush()
    await new Promise((r) => setTimeout(r, 600)) // a retry would have come after 250 ms
    await expect(b.idle()).rejects.toThrow('producer closed')
    expect(calls).toBe(1)
    expect(committed).toBe(false)
  })
})
