import { Partitioners } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { partitionFor } from '../src/index.js'

describe('partitionFor', () => {
  it('agrees with the kafkajs/Java default partitioner for every key length', () => {
    const kafkajs = Partitioners.DefaultPartitioner()
    const keys = [
      '',
      'a',
      'ab',
      'abc',
      'orders-prod',
      'billing-db-eu-west-1',
      'srv-17',
      'ünïcødé-server',
      'x'.repeat(101),
    ]
    for (let i = 0; i < 200; i++) keys.push(`server-${i}-${'k'.repeat(i % 7)}`)
    for (const n of [1, 3, 6, 12]) {
      const partitionMetadata = Array.from({ length: n }, (_, p) => ({
        partitionId: p,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }))
      for (const key of keys) {
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } })
        expect(partitionFor(key, n), `${key} / ${n}`).toBe(expected)
      }
    }
  })

  it('spreads server names over every partition', () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionFor(`srv-${i}`, 6)))
    expect(used.size).toBe(6)
  })
})
