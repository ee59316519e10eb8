import { afterEach, describe, expect, it, vi } from 'vitest'
import { ensureTopics, KafkaUnavailableError, type WireClient } from '../src/index.js'
import { testConfig } from './kafka-helpers.js'

/**
 * A broker that took the topics (another process won the race) but shows them in its metadata
 * only `lagMs` later, as a loaded broker does. The clock is vitest's, so the test takes no time.
 */
function laggingBroker(lagMs: number, opts: { createFails?: boolean } = {}) {
  let createdAt: number | undefined
  const calls = { create: 0, describe: 0 }
  const client = {
    admin: () => ({
      connect: async () => {},
      disconnect: async () => {},
      async describeTopics(names: string[]) {
        calls.describe++
        const shown = createdAt !== undefined && Date.now() >= createdAt + lagMs
        return new Map(shown ? names.map((n) => [n, 4] as const) : [])
      },
      async createTopics() {
        calls.create++
        if (opts.createFails) throw new Error('INVALID_REPLICATION_FACTOR')
        createdAt ??= Date.now()
      },
    }),
  } as unknown as WireClient
  return { client, calls }
}

async function settle<T>(p: Promise<T>, ms: number): Promise<{ ok: true } | { ok: false; err: unknown }> {
  const out = p.then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  )
  await vi.advanceTimersByTimeAsync(ms)
  return out
}

describe('ensureTopics against a broker whose metadata lags', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('waits until topics created elsewhere show up, even 8 s later', async () => {
    vi.useFakeTimers()
    const { client, calls } = laggingBroker(8_000)
    const got = await settle(ensureTopics(testConfig('127.0.0.1:1', 4), { client }), 12_000)
    expect(got).toEqual({ ok: true })
    // Created once; the waiting only looks.
    expect(calls.create).toBe(1)
    expect(calls.describe).toBeGreaterThan(2)
  })

  it('gives up with one clear error when they never show up', async () => {
    vi.useFakeTimers()
    const { client } = laggingBroker(Number.POSITIVE_INFINITY)
    const got = await settle(ensureTopics(testConfig('127.0.0.1:1', 4), { client, visibleWithinMs: 5_000 }), 7_000)
    expect(got.ok).toBe(false)
    const err = (got as { err: Error }).err
    expect(err).toBeInstanceOf(KafkaUnavailableError)
    expect(err.message).toMatch(/^kafka: cannot create topics on 127\.0\.0\.1:1: topics not yet visible in metadata: .*connrca\.logs\.v1.* \(waited 5 s\)$/)
  })

  it('a refused creation is reported after a few seconds, not after the visibility wait', async () => {
    vi.useFakeTimers()
    const { client, calls } = laggingBroker(0, { createFails: true })
    const got = await settle(ensureTopics(testConfig('127.0.0.1:1', 4), { client }), 6_000)
    expect(got.ok).toBe(false)
    expect((got as { err: Error }).err.message).toContain('INVALID_REPLICATION_FACTOR')
    expect(calls.create).toBe(8)
  })
})
