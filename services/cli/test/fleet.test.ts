import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { NotifyConfig } from '@connrca/contracts'
import { createNotifier, memoryNotifyState } from '@connrca/notify'
import { describe, expect, it } from 'vitest'
import { diagnosisScenarios } from '../src/generate/index.js'
import { classifiedEvents, latest, runStage } from './diagnosis-harness.js'

const start = Date.UTC(2026, 2, 2)

describe('fleet-wide deny', () => {
  it('4 servers denying the same /24 from 04:02 are one notification, with the 4 incidents as evidence', async () => {
    const sc = diagnosisScenarios(start).find((s) => s.name === 'fleet-wide deny')!
    const rca = await runStage(
      classifiedEvents({ servers: sc.servers, start, durationMs: 6 * 3_600_000, incidents: sc.incidents }),
    )
    const fw = latest(rca).filter((e) => e.category === 'firewall_deny')
    expect(fw.map((e) => e.server).sort()).toEqual(sc.servers)
    expect(new Set(fw.map((e) => e.hypotheses?.[0]?.fleetKey))).toEqual(new Set(['net:81.2.69.0/24']))

    const bodies: { groupLabels: Record<string, string>; events: { server: string; category: string }[] }[] = []
    const rx = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        bodies.push(JSON.parse(body))
        res.end()
      })
    })
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r))
    let now = start + 4 * 3_600_000
    const notifier = createNotifier({
      config: NotifyConfig.parse({
        receivers: [
          { name: 'hook', url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/`, format: 'generic' },
        ],
        routes: [{ name: 'ops', receivers: ['hook'], match: { categories: ['firewall_deny'] } }],
      }),
      state: memoryNotifyState(),
      clock: { now: () => now, sleep: async () => {} },
    })
    try {
      // every revision of every server, in the order the aggregator emitted them (one topic)
      await notifier.handle(rca.filter((e) => e.category === 'firewall_deny' && e.status !== 'resolved'))
      now += 30_000
      await notifier.tick()
    } finally {
      await notifier.stop()
      await new Promise((r) => rx.close(r))
    }
    expect(bodies).toHaveLength(1)
    expect(bodies[0].groupLabels).toEqual({ fleet: 'firewall_deny net:81.2.69.0/24' })
    expect(bodies[0].events.map((e) => e.server).sort()).toEqual(sc.servers)
  }, 60_000)
})
