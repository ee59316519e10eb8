import { NotifyConfig } from '@connrca/contracts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createNotifier } from '../src/notifier.js'
import { verifySignature } from '../src/signing.js'
import { memoryNotifyState, type NotifyStateStore } from '../src/state.js'
import { closedPortUrl, FakeClock, makeEvent, SEC, startReceiver, type TestReceiver } from './helpers.js'

const SECRET = 'hmac-shared-s3cr3t'
let rx: TestReceiver
let clock: FakeClock
let lines: string[]
let state: NotifyStateStore
beforeEach(async () => {
  rx = await startReceiver()
  clock = new FakeClock()
  lines = []
  state = memoryNotifyState()
})
afterEach(async () => rx.close())

function notifier(url: string, receiver: Record<string, unknown> = {}) {
  const config = NotifyConfig.parse({
    receivers: [
      {
        name: 'hook',
        url,
        secret: SECRET,
        timeout: '300ms',
        retry: { attempts: 3, initialBackoff: '1s', maxBackoff: '4s' },
        ...receiver,
      },
    ],
    routes: [{ name: 'ops', receivers: ['hook'], groupWait: 0 }],
  })
  return createNotifier({ config, state, clock, logger: (l) => lines.push(l), random: () => 1 })
}

/** Ticks through the retry schedule (1 s, 2 s) of a 3-attempt budget. */
async function runRetries(n: ReturnType<typeof notifier>) {
  await n.tick()
  for (const wait of [1 * SEC, 2 * SEC]) {
    clock.advance(wait - 1)
    await n.tick() // not yet due
    clock.advance(1)
    await n.tick()
  }
}

describe('retries', () => {
  it('retries a 500 and delivers with the same body and idempotency key', async () => {
    rx.replies = [500, 503]
    const n = notifier(rx.url)
    await n.handle([makeEvent({ id: 'a' })])
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    clock.advance(999)
    await n.tick()
    expect(rx.requests).toHaveLength(1) // backoff not over
    clock.advance(1)
    await n.tick()
    clock.advance(2 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(3)
    expect(new Set(rx.requests.map((r) => r.body)).size).toBe(1)
    expect(new Set(rx.requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set(['a:1']))
    expect(await state.deadLetters()).toHaveLength(0)
    // Delivered: nothing more to send.
    clock.advance(10 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(3)
  })

  it('retries a receiver that does not answer within the timeout', async () => {
    rx.replies = ['hang']
    const n = notifier(rx.url)
    await n.handle([makeEvent({ id: 'a' })])
    const t0 = Date.now()
    await n.tick()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(lines.some((l) => l.includes('timed out after 300 ms'))).toBe(true)
    clock.advance(1 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
    expect(await state.deadLetters()).toHaveLength(0)
  })

  it('dead-letters after the retry budget when the connection is refused', async () => {
    const url = await closedPortUrl()
    const n = notifier(url)
    await n.handle([makeEvent({ id: 'a' })])
    await runRetries(n)
    const dead = await state.deadLetters()
    expect(dead).toHaveLength(1)
    expect(dead[0]).toMatchObject({
      receiver: 'hook',
      route: 'ops',
      attempts: 3,
      status: 'pending',
      idempotencyKey: 'a:1',
    })
    expect(dead[0].error).toContain('connection refused')
    expect(JSON.parse(dead[0].body).events[0].id).toBe('a')
    expect(lines.filter((l) => l.includes('retrying in'))).toHaveLength(2)
    // Given up: the group moved on, no further attempts.
    clock.advance(1000 * SEC)
    await n.tick()
    expect(await state.deadLetters()).toHaveLength(1)
  })

  it('dead-letters a 4xx at once: the receiver refused the request itself', async () => {
    rx.replies = [400]
    const n = notifier(rx.url)
    await n.handle([makeEvent({ id: 'a' })])
    await n.tick()
    const dead = await state.deadLetters()
    expect(dead).toHaveLength(1)
    expect(dead[0].error).toContain('HTTP 400')
    expect(rx.requests).toHaveLength(1)
  })

  it('re-sends dead letters with `retryDeadLetters` once the receiver is back', async () => {
    rx.fallback = 500
    const n = notifier(rx.url)
    await n.handle([makeEvent({ id: 'a' })])
    await runRetries(n)
    expect(await state.deadLetters('pending')).toHaveLength(1)
    expect(await n.retryDeadLetters()).toEqual({ sent: 0, failed: 1 })
    rx.fallback = 200
    expect(await n.retryDeadLetters()).toEqual({ sent: 1, failed: 0 })
    expect(await state.deadLetters('pending')).toHaveLength(0)
    const [dl] = await state.deadLetters('resent')
    expect(dl.attempts).toBe(5)
    const last = rx.requests.at(-1)!
    expect(last.headers['idempotency-key']).toBe('a:1')
    expect(last.body).toBe(rx.requests[0].body)
    expect(await n.retryDeadLetters()).toEqual({ sent: 0, failed: 0 })
  })
})

describe('signature and headers', () => {
  it('signs the body with HMAC-SHA256 that a receiver can verify', async () => {
    const n = notifier(rx.url, { headers: { 'x-team': 'dba' } })
    await n.handle([makeEvent({ id: 'a' })])
    await n.tick()
    const [req] = rx.requests
    expect(req.headers['content-type']).toBe('application/json')
    expect(req.headers['x-team']).toBe('dba')
    const nowSec = Math.floor(clock.now() / 1000)
    const input = {
      secret: SECRET,
      body: req.body,
      timestamp: req.headers['x-connrca-timestamp'] as string,
      signature: req.headers['x-connrca-signature'] as string,
      nowSec,
    }
    expect(input.signature).toMatch(/^sha256=[0-9a-f]{64}$/)
    expect(verifySignature(input)).toBe(true)
    expect(verifySignature({ ...input, secret: 'wrong' })).toBe(false)
    expect(verifySignature({ ...input, body: req.body.replace('orders-prod', 'orders-test') })).toBe(false)
    expect(verifySignature({ ...input, nowSec: nowSec + 3600 })).toBe(false)
    expect(verifySignature({ ...input, signature: undefined })).toBe(false)
  })

  it('sends no signature headers without a secret', async () => {
    const n = notifier(rx.url, { secret: undefined })
    await n.handle([makeEvent({ id: 'a' })])
    await n.tick()
    expect(rx.requests[0].headers['x-connrca-signature']).toBeUndefined()
    expect(rx.requests[0].headers['idempotency-key']).toBe('a:1')
  })
})

describe('secrets stay out of logs and errors', () => {
  it('redacts the webhook path, query and the secret', async () => {
    rx.fallback = 500 // the receiver echoes the URL path in its error body
    const n = notifier(rx.url, { headers: { authorization: 'Bearer hdr-t0ken-xyz' } })
    await n.handle([makeEvent({ id: 'a' })])
    await runRetries(n)
    const dead = await state.deadLetters()
    const texts = [...lines, ...dead.map((d) => d.error)]
    expect(texts.length).toBeGreaterThan(2)
    for (const t of texts) {
      expect(t).not.toContain('T0KEN')
      expect(t).not.toContain('abc123')
      expect(t).not.toContain(SECRET)
      expect(t).not.toContain('hdr-t0ken')
    }
    expect(lines.join('\n')).toContain('http://127.0.0.1:')
    expect(dead[0].error).toContain('HTTP 500')
  })
})

describe('per-receiver limits', () => {
  it('spaces requests to a Slack receiver at one per second by default', async () => {
    const n = notifier(rx.url, { format: 'slack' })
    await n.handle(['a', 'b', 'c', 'd'].map((id) => makeEvent({ id, server: `db-${id}` })))
    const t0 = clock.now()
    await n.tick()
    expect(rx.requests).toHaveLength(4)
    // The fake clock's sleep moves virtual time: three gaps of one second.
    expect(clock.now() - t0).toBeGreaterThanOrEqual(3 * SEC)
    expect(clock.now() - t0).toBeLessThan(4 * SEC)
  })

  it('keeps at most `concurrency` requests in flight', async () => {
    const n = notifier(rx.url, { concurrency: 2 })
    await n.handle(Array.from({ length: 8 }, (_, i) => makeEvent({ id: `e${i}`, server: `db${i}` })))
    await n.tick()
    expect(rx.requests).toHaveLength(8)
    expect(rx.maxConcurrent).toBe(2)
  })
})
