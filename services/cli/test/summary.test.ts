import type { ConnectionEvent, RcaEvent } from '@connrca/contracts'
import { describe, expect, it } from 'vitest'
import { Summary } from '../src/embedded/summary.js'

/** Only what Summary reads of an RCA event: id, revision and firstFailure. */
const incident = (id: string, firstFailure: number) => ({ id, revision: 1, firstFailure }) as unknown as RcaEvent

describe('analyze summary', () => {
  it('lists incidents that start in the same millisecond in one order, whichever arrived first', async () => {
    // two servers' files read side by side (`analyze - file.log`) hand their incidents over in any order
    const t = Date.UTC(2026, 2, 2, 4, 2)
    const events = [incident('orders-prod:firewall_deny:1', t), incident('billing:firewall_deny:1', t), incident('early', t - 1)]
    const lists = []
    for (const order of [events, [...events].reverse()]) {
      const s = new Summary()
      await s.onRca(order)
      lists.push(s.toJSON({ records: 0, unparsed: 0, lateDropped: 0 }).incidents.map((e) => e.id))
    }
    expect(lists[0]).toEqual(['early', 'billing:firewall_deny:1', 'orders-prod:firewall_deny:1'])
    expect(lists[1]).toEqual(lists[0])
  })

  it('lists categories with as many failures in one order, whichever failed first', async () => {
    const failed = (category: ConnectionEvent['category']) =>
      ({ outcome: 'failed', category, reason: 'r', clientIp: '10.0.0.1' }) as ConnectionEvent
    const events = [failed('tls_reject'), failed('auth_fail'), failed('firewall_deny'), failed('firewall_deny')]
    const orders = []
    for (const order of [events, [...events].reverse()]) {
      const s = new Summary()
      await s.onEvents(order)
      orders.push(Object.keys(s.toJSON({ records: 0, unparsed: 0, lateDropped: 0 }).totals))
    }
    expect(orders[0]).toEqual(['firewall_deny', 'auth_fail', 'tls_reject'])
    expect(orders[1]).toEqual(orders[0])
  })
})
