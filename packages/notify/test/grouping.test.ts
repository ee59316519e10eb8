import { NotifyConfig } from '@connrca/contracts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createNotifier } from '../src/notifier.js'
import { memoryNotifyState } from '../src/state.js'
import { FakeClock, HOUR, MIN, makeEvent, SEC, startReceiver, type TestReceiver } from './helpers.js'

let rx: TestReceiver
let clock: FakeClock
beforeEach(async () => {
  rx = await startReceiver()
  clock = new FakeClock()
})
afterEach(async () => rx.close())

function notifier(extra: Record<string, unknown> = {}, route: Record<string, unknown> = {}) {
  const config = NotifyConfig.parse({
    receivers: [{ name: 'hook', url: rx.url }],
    routes: [{ name: 'ops', receivers: ['hook'], ...route }],
    ...extra,
  })
  return createNotifier({ config, state: memoryNotifyState(), clock })
}

const ids = (i: number) => rx.requests[i].json.events.map((e: { id: string }) => e.id)

describe('group_wait / group_interval / repeat_interval', () => {
  it('waits group_wait, then sends the whole group as one message', async () => {
    const n = notifier()
    const a = makeEvent({ server: 'db1', id: 'a' })
    await n.handle([a])
    clock.advance(10 * SEC)
    await n.handle([makeEvent({ server: 'db1', id: 'b' })])
    await n.tick()
    clock.advance(19 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(0)
    clock.advance(1 * SEC) // 30 s after the first incident
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    expect(ids(0)).toEqual(['a', 'b'])
    expect(rx.requests[0].json.status).toBe('firing')
    expect(rx.requests[0].headers['idempotency-key']).toMatch(/^group:[0-9a-f]{32}$/)
  })

  it('holds a new incident in a flushed group until group_interval', async () => {
    const n = notifier()
    await n.handle([makeEvent({ server: 'db1', id: 'a' })])
    clock.advance(30 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    clock.advance(1 * MIN)
    await n.handle([makeEvent({ server: 'db1', id: 'b' })])
    clock.advance(3 * MIN + 59 * SEC) // 4:59 after the first flush
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    clock.advance(1 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
    expect(ids(1)).toEqual(['a', 'b'])
  })

  it('keeps groups apart by server and category (default group_by)', async () => {
    const n = notifier()
    await n.handle([
      makeEvent({ server: 'db1', category: 'auth_fail', id: 'x1' }),
      makeEvent({ server: 'db2', category: 'auth_fail', id: 'x2' }),
      makeEvent({ server: 'db1', category: 'tls_reject', id: 'x3' }),
    ])
    clock.advance(30 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(3)
    const keys = rx.requests.map((r) => r.json.groupKey).sort()
    expect(keys).toEqual([
      'ops/server=db1,category=auth_fail',
      'ops/server=db1,category=tls_reject',
      'ops/server=db2,category=auth_fail',
    ])
    expect(rx.requests.map((r) => r.headers['idempotency-key']).sort()).toEqual(['x1:1', 'x2:1', 'x3:1'])
  })

  it('does not re-send unchanged groups before repeat_interval, then repeats with a new idempotency key', async () => {
    const n = notifier()
    await n.handle([makeEvent({ id: 'a' })])
    clock.advance(30 * SEC)
    await n.tick()
    // A new revision with a higher count is not a change worth a message (Alertmanager semantics).
    await n.handle([makeEvent({ id: 'a', revision: 2, count: 900 })])
    for (let t = 0; t < 47; t++) {
      clock.advance(5 * MIN)
      await n.tick()
    }
    expect(rx.requests).toHaveLength(1) // 3 h 55 m after the first message
    clock.advance(5 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
    expect(rx.requests[1].json.events[0].count).toBe(900)
    expect(rx.requests[1].headers['idempotency-key']).toBe('a:2')
    for (let t = 0; t < 48; t++) {
      clock.advance(5 * MIN)
      await n.tick()
    }
    expect(rx.requests).toHaveLength(3)
    expect(rx.requests[2].headers['idempotency-key']).toBe('a:2:repeat1')
  })

  it('sends a severity escalation at the next group_interval', async () => {
    const n = notifier()
    await n.handle([makeEvent({ id: 'a' })])
    clock.advance(30 * SEC)
    await n.tick()
    await n.handle([makeEvent({ id: 'a', revision: 2, severity: 'critical' })])
    clock.advance(5 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
    expect(rx.requests[1].json.events[0].severity).toBe('critical')
  })

  it('honours custom timings from the route', async () => {
    const n = notifier({}, { groupWait: '5s', groupInterval: '1m', repeatInterval: '10m' })
    await n.handle([makeEvent({ id: 'a' })])
    clock.advance(5 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    clock.advance(9 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    clock.advance(1 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
  })
})

describe('idempotent handle', () => {
  it('ignores a repeated or older revision', async () => {
    const n = notifier()
    const e = makeEvent({ id: 'a', revision: 3 })
    await n.handle([e, e])
    await n.handle([{ ...e, revision: 2, status: 'resolved' }])
    clock.advance(30 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(1)
    expect(rx.requests[0].json.events).toHaveLength(1)
    expect(rx.requests[0].json.events[0].status).toBe('open')
    clock.advance(5 * MIN)
    await n.handle([e])
    await n.tick()
    expect(rx.requests).toHaveLength(1)
  })
})

describe('resolved notifications', () => {
  it('sends a resolved message at the next flush and then forgets the group', async () => {
    const n = notifier()
    await n.handle([makeEvent({ id: 'a' })])
    clock.advance(30 * SEC)
    await n.tick()
    await n.handle([makeEvent({ id: 'a', revision: 2, status: 'resolved' })])
    clock.advance(5 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
    expect(rx.requests[1].json.status).toBe('resolved')
    expect(rx.requests[1].json.events[0].status).toBe('resolved')
    expect(rx.requests[1].headers['idempotency-key']).toBe('a:2')
    clock.advance(10 * HOUR)
    for (let i = 0; i < 3; i++) await n.tick()
    expect(rx.requests).toHaveLength(2)
  })

  it('reports one resolved incident while another of the group still fires', async () => {
    const n = notifier()
    await n.handle([makeEvent({ id: 'a' }), makeEvent({ id: 'b' })])
    clock.advance(30 * SEC)
    await n.tick()
    await n.handle([makeEvent({ id: 'a', revision: 2, status: 'resolved' })])
    clock.advance(5 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
    expect(rx.requests[1].json.status).toBe('firing')
    expect(rx.requests[1].json.events.map((e: { id: string; status: string }) => `${e.id}:${e.status}`)).toEqual([
      'b:open',
      'a:resolved',
    ])
  })

  it('says nothing about an incident that opened and resolved within group_wait', async () => {
    const n = notifier()
    await n.handle([makeEvent({ id: 'a' })])
    clock.advance(10 * SEC)
    await n.handle([makeEvent({ id: 'a', revision: 2, status: 'resolved' })])
    clock.advance(30 * SEC)
    await n.tick()
    clock.advance(5 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(0)
  })

  it('stays silent on resolve when sendResolved is false', async () => {
    const n = notifier({}, { sendResolved: false })
    await n.handle([makeEvent({ id: 'a' })])
    clock.advance(30 * SEC)
    await n.tick()
    await n.handle([makeEvent({ id: 'a', revision: 2, status: 'resolved' })])
    clock.advance(5 * MIN)
    await n.tick()
    expect(rx.requests).toHaveLength(1)
  })
})

describe('inhibition', () => {
  it('mutes network incidents of a server while a transient incident there is open', async () => {
    const n = notifier({}, { groupBy: ['server', 'category'] })
    await n.handle([
      makeEvent({ id: 'restart', server: 'db1', category: 'transient', persistence: 'transient' }),
      makeEvent({ id: 'resets', server: 'db1', category: 'network' }),
      makeEvent({ id: 'other', server: 'db2', category: 'network' }),
    ])
    clock.advance(30 * SEC)
    await n.tick()
    const sent = rx.requests.flatMap((r) => r.json.events.map((e: { id: string }) => e.id)).sort()
    expect(sent).toEqual(['other', 'restart'])
    // The restart ends; the network incident goes on and is now worth a message.
    await n.handle([
      makeEvent({ id: 'restart', server: 'db1', category: 'transient', revision: 2, status: 'resolved' }),
    ])
    clock.advance(5 * MIN)
    await n.tick()
    const later = rx.requests.slice(2).map((r) => `${r.json.events[0].id}:${r.json.events[0].status}`)
    expect(later.sort()).toEqual(['resets:open', 'restart:resolved'])
  })

  it('can be switched off with an empty rule list', async () => {
    const n = notifier({ inhibit: [] })
    await n.handle([
      makeEvent({ id: 'restart', server: 'db1', category: 'transient' }),
      makeEvent({ id: 'resets', server: 'db1', category: 'network' }),
    ])
    clock.advance(30 * SEC)
    await n.tick()
    expect(rx.requests).toHaveLength(2)
  })
})

describe('routes', () => {
  it('matches on server glob, category, severity and persistence', async () => {
    const config = NotifyConfig.parse({
      receivers: [{ name: 'hook', url: rx.url }],
      routes: [
        {
          name: 'prod-critical',
          receivers: ['hook'],
          match: { servers: ['*-prod', 'db?'], severities: ['critical'], persistence: ['persistent'] },
          groupWait: 0,
        },
        { name: 'auth', receivers: ['hook'], match: { categories: ['auth_fail'] }, groupWait: 0, continue: false },
        { name: 'catch-all', receivers: ['hook'], groupWait: 0 },
      ],
    })
    const n = createNotifier({ config, state: memoryNotifyState(), clock })
    await n.handle([
      makeEvent({ id: 'p1', server: 'orders-prod', severity: 'critical' }),
      makeEvent({ id: 'p2', server: 'db7', severity: 'critical', category: 'auth_fail' }),
      makeEvent({ id: 'p3', server: 'orders-prod-eu', severity: 'critical' }),
      makeEvent({ id: 'p4', server: 'db1', severity: 'critical', persistence: 'transient' }),
    ])
    await n.tick()
    const got = rx.requests.map((r) => `${r.json.route}:${r.json.events[0].id}`).sort()
    expect(got).toEqual([
      'auth:p2',
      'catch-all:p1',
      'catch-all:p3',
      'catch-all:p4',
      'prod-critical:p1',
      'prod-critical:p2',
    ])
  })
})
