import { describe, expect, it, vi } from 'vitest'
import { backoffDelay, retryWithBackoff } from '../src/index.js'

describe('backoffDelay', () => {
  it('grows exponentially, stays within [minMs, maxMs] and never drops below minMs', () => {
    for (const r of [0, 0.5, 0.999]) {
      const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, 10, 1000, () => r))
      for (const d of delays) {
        expect(d).toBeGreaterThanOrEqual(10)
        expect(d).toBeLessThanOrEqual(1000)
      }
      expect(delays[11]).toBeGreaterThanOrEqual(500)
    }
    expect(backoffDelay(1, 10, 1000, () => 0)).toBe(10)
    expect(backoffDelay(4, 10, 1000, () => 0)).toBe(40)
    expect(backoffDelay(4, 10, 1000, () => 1)).toBe(80)
  })
})

describe('retryWithBackoff', () => {
  it('retries until the call succeeds, reporting each retry', async () => {
    let calls = 0
    const onRetry = vi.fn()
    const t0 = Date.now()
    const v = await retryWithBackoff(
      async () => {
        if (++calls < 4) throw new Error(`fail ${calls}`)
        return 'ok'
      },
      { minMs: 5, maxMs: 20, onRetry },
    )
    expect(v).toBe('ok')
    expect(calls).toBe(4)
    expect(onRetry).toHaveBeenCalledTimes(3)
    expect(onRetry.mock.calls.map((c) => c[1])).toEqual([1, 2, 3])
    // Never spins: three waits of at least minMs each.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(14)
  })

  it('stops on abort, on non-retryable errors and after maxAttempts', async () => {
    const ac = new AbortController()
    const p = retryWithBackoff(
      async () => {
        throw new Error('down')
      },
      { minMs: 50, maxMs: 100, signal: ac.signal },
    )
    setTimeout(() => ac.abort(new Error('stopping')), 20)
    await expect(p).rejects.toThrow('stopping')

    let calls = 0
    await expect(
      retryWithBackoff(
        async () => {
          calls++
          throw new TypeError('bad input')
        },
        { minMs: 1, maxMs: 2, retryable: (e) => !(e instanceof TypeError) },
      ),
    ).rejects.toThrow('bad input')
    expect(calls).toBe(1)

    calls = 0
    await expect(
      retryWithBackoff(
        async () => {
          calls++
          throw new Error('still down')
        },
        { minMs: 1, maxMs: 2, maxAttempts: 3 },
      ),
    ).rejects.toThrow('still down')
    expect(calls).toBe(3)
  })

  it('waits what the server asked for (Retry-After) instead of the backoff, never below minMs', async () => {
    const delays: number[] = []
    let calls = 0
    await retryWithBackoff(
      async () => {
        if (++calls < 3) throw Object.assign(new Error('throttled'), { after: calls === 1 ? 120 : 0 })
        return 'ok'
      },
      { minMs: 5, maxMs: 20, delayFor: (e) => (e as { after: number }).after, onRetry: (_e, _a, d) => delays.push(d) },
    )
    expect(delays).toEqual([120, 5])
  })

  it('refuses a zero minimum delay', async () => {
    await expect(retryWithBackoff(async () => 1, { minMs: 0, maxMs: 10 })).rejects.toThrow(/minMs/)
  })
})
