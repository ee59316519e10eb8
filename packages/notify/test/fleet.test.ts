import { type Hypothesis, NotifyConfig } from '@connrca/contracts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createNotifier } from '../src/notifier.js'
import { memoryNotifyState } from '../src/state.js'
import { FakeClock, makeEvent, SEC, startReceiver, type TestReceiver } from './helpers.js'

let rx: TestReceiver
let clock: FakeClock
beforeEach(async () => {
  rx = await startReceiver()
  clock = new FakeClock()
})
afterEach(async () => rx.close())

const notifier = (format = 'generic') =>
  createNotifier({
    config: NotifyConfig.parse({
      receivers: [{ name: 'hook', url: rx.url, format }],
      routes: [{ name: 'ops', receivers: ['hook'] }],
    }),
    state: memoryNotifyState(),
    clock,
  })

const newClients = (net: string): Hypothesis => ({
  version: 1,
  id: 'new_clients',
  title: 'new clients or a moved egress address',
  text: 't',
  score: 0.95,
  evidence: {},
  fleetKey: `net:${net}`,
  clients: [],
  steps: [],
})
const T = Date.UTC(2026, 2, 2, 10, 2)

describe('fleet incidents', () => {
  it('the same cause from the same /24 on several servers is one notification with each server as evidence', async () => {
    const n = notifier()
    const fleet = ['pg-01', 'pg-02', 'pg-03'].map((server, i) =>
      makeEvent({ id: `f${i}`, server, firstFailure: T + i * 60_000, hypotheses: [newClients('81.2.69.0/24')] }),
    )
    const other = makeEvent({ id: 'o', server: 'pg-04', hypotheses: [newClients('198.51.100.0/24')] })
    const plain = makeEvent({ id: 'p', server: 'pg-05' })
    await n.handle([fleet[0], other, plain])
    clock.advance(10 * SEC)
    await n.handle([fleet[1], fleet[2]])
    clock.advance(20 * SEC)
    await n.tick()
    const groups = rx.requests.map((r) => [r.json.groupLabels, r.json.events.map((e: { id: string }) => e.id)])
    expect(groups).toEqual([
      [{ fleet: 'firewall_deny net:81.2.69.0/24' }, ['f0', 'f1', 'f2']],
      [{ fleet: 'firewall_deny net:198.51.100.0/24' }, ['o']],
      [{ server: 'pg-05', category: 'firewall_deny' }, ['p']],
    ])
  })

  it('says what the fleet shares in the headline of every chat format', async () => {
    for (const format of ['slack', 'teams']) {
      rx.requests.length = 0
      const n = notifier(format)
      await n.handle(
        ['pg-01', 'pg-02'].map((server, i) =>
          makeEvent({
            id: `${format}${i}`,
            server,
            firstFailure: T + i * 60_000,
            hypotheses: [newClients('81.2.69.0/24')],
          }),
        ),
      )
      clock.advance(30 * SEC)
      await n.tick()
      expect(rx.requests).toHaveLength(1)
      expect(rx.requests[0].body).toContain('81.2.69.0/24 denied by 2 servers since 2026-03-02 10:02 UTC')
    }
  })
})
