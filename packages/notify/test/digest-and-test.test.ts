import { NotifyConfig } from '@connrca/contracts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GenericPayload, SlackPayload } from '../src/formats/index.js'
import { createNotifier } from '../src/notifier.js'
import { memoryNotifyState } from '../src/state.js'
import { closedPortUrl, FakeClock, HOUR, makeEvent, startReceiver, type TestReceiver } from './helpers.js'

let rx: TestReceiver
let clock: FakeClock
beforeEach(async () => {
  rx = await startReceiver()
  clock = new FakeClock()
})
afterEach(async () => rx.close())

function notifier(
  route: Record<string, unknown> = {},
  receivers: Record<string, unknown>[] = [{ name: 'hook', url: rx.url }],
) {
  const config = NotifyConfig.parse({
    receivers,
    routes: [{ name: 'ops', receivers: receivers.map((r) => r.name), match: { servers: ['*-prod'] }, ...route }],
  })
  return createNotifier({ config, state: memoryNotifyState(), clock })
}

describe('daily digest', () => {
  it('summarises the last 24 h per server and category in one message', async () => {
    const n = notifier({ digest: { schedule: '0 8 * * *' } })
    await n.handle([makeEvent({ id: 'old', server: 'a-prod', status: 'resolved', count: 5 })])
    clock.advance(25 * HOUR)
    await n.handle([
      makeEvent({ id: 'x1', server: 'a-prod', count: 10 }),
      makeEvent({ id: 'x2', server: 'a-prod', count: 20, status: 'resolved' }),
      makeEvent({ id: 'x3', server: 'b-prod', category: 'auth_fail', count: 3 }),
      makeEvent({ id: 'dev', server: 'a-dev', count: 99 }), // not on this route
    ])
    await n.runDigest('ops')
    expect(rx.requests).toHaveLength(1)
    const p = GenericPayload.parse(rx.requests[0].json)
    if (p.kind !== 'digest') throw new Error('expected a digest')
    expect(p.rows.map((r) => [r.server, r.category, r.incidents, r.open, r.failures])).toEqual([
      ['a-prod', 'firewall_deny', 2, 1, 30],
      ['b-prod', 'auth_fail', 1, 1, 3],
    ])
    expect(p.totals).toEqual({ incidents: 3, open: 2, failures: 33 })
    expect(rx.requests[0].headers['idempotency-key']).toMatch(/^digest:ops:2024-05-02T11:00$/)
  })

  it('skips an empty digest when sendEmpty is false', async () => {
    const n = notifier({ digest: { schedule: '0 8 * * *', sendEmpty: false } })
    await n.runDigest('ops')
    expect(rx.requests).toHaveLength(0)
    const m = notifier({ digest: { schedule: '0 8 * * *' } })
    await m.runDigest('ops')
    expect(rx.requests).toHaveLength(1)
  })

  it('runs on its cron schedule after start()', async () => {
    const n = notifier({ digest: { schedule: '* * * * * *' } }, [{ name: 'hook', url: rx.url, format: 'slack' }])
    n.start()
    const deadline = Date.now() + 3000
    while (rx.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    await n.stop()
    expect(rx.requests.length).toBeGreaterThanOrEqual(1)
    const p = SlackPayload.parse(rx.requests[0].json)
    expect(p.text).toContain('daily digest')
    const after = rx.requests.length
    await new Promise((r) => setTimeout(r, 1200))
    expect(rx.requests.length).toBe(after) // stop() ended the schedule
  })
})

describe('notify test', () => {
  it('sends a sample to every receiver of the route', async () => {
    const n = notifier({}, [
      { name: 'hook', url: rx.url },
      { name: 'chat', url: `${rx.url}&chat=1`, format: 'slack' },
    ])
    await n.sendTest('ops')
    expect(rx.requests).toHaveLength(2)
    const generic = GenericPayload.parse(rx.requests.find((r) => !r.path.includes('chat'))!.json)
    expect(generic.kind === 'incidents' && generic.test).toBe(true)
    SlackPayload.parse(rx.requests.find((r) => r.path.includes('chat'))!.json)
  })

  it('fails with one redacted line per broken receiver', async () => {
    const n = notifier({}, [{ name: 'hook', url: await closedPortUrl() }])
    const err = await n.sendTest('ops').catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/receiver "hook" \(http:\/\/127\.0\.0\.1:\d+\/…\): connection refused/)
    expect((err as Error).message).not.toContain('T0KEN')
  })

  it('names the configured routes when the route is unknown', async () => {
    const n = notifier()
    await expect(n.sendTest('nope')).rejects.toThrow('no route named "nope" (configured: ops)')
  })
})
