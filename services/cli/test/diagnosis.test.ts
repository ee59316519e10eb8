import { describe, expect, it } from 'vitest'
import { SAMPLE, SAMPLE_THRESHOLDS } from '../src/embedded/sample.js'
import { defaultIncidents, diagnosisScenarios, SAMPLE_SERVERS } from '../src/generate/index.js'
import { classifiedEvents, incidentsOf, runStage } from './diagnosis-harness.js'

const start = Date.UTC(2026, 2, 2)
const HOUR = 3_600_000

describe('the diagnosis names the injected situation first', () => {
  for (const sc of diagnosisScenarios(start)) {
    const expected = sc.incidents.filter((i) => i.expect)
    if (expected.length === 0) continue
    it(sc.name, async () => {
      const events = classifiedEvents({ servers: sc.servers, start, durationMs: 6 * HOUR, incidents: sc.incidents })
      const rca = await runStage(events)
      for (const inc of expected) {
        const found = incidentsOf(inc, rca)
        expect(found.length, `${inc.server} ${inc.category}`).toBeGreaterThan(0)
        // the incident holding most of the injected failures carries the diagnosis
        const main = found.sort((a, b) => b.count - a.count)[0]
        expect(main.hypotheses?.[0]?.id, main.text).toBe(inc.expect)
        expect(main.text).toContain(`Likely cause: ${main.hypotheses![0].title}.`)
        expect(main.steps.slice(0, main.hypotheses![0].steps.length)).toEqual(main.hypotheses![0].steps)
      }
    })
  }
})

describe('what the log says beside the message', () => {
  const run = async (name: string) => {
    const sc = diagnosisScenarios(start).find((s) => s.name === name)!
    const events = classifiedEvents({ servers: sc.servers, start, durationMs: 6 * HOUR, incidents: sc.incidents })
    return incidentsOf(sc.incidents[0], await runStage(events)).sort((a, b) => b.count - a.count)[0]
  }

  it('auth_fail on a self-hosted or Flexible server: the pg_hba.conf line the failures matched (DETAIL)', async () => {
    const main = await run('rotation gone wrong')
    expect(main.hypotheses?.[0].text).toMatch(/The attempts matched pg_hba\.conf line \d+: host /)
  })

  it('tls_reject: the TLS versions the server asked for (HINT, PostgreSQL 14+)', async () => {
    const main = await run('legacy TLS client')
    const top = main.hypotheses![0]
    expect(top.title).toBe('1 client, legacy driver; the server asks for TLSv1.2 to TLSv1.3')
    expect(top.steps[0]).toContain('to one that speaks TLSv1.2 to TLSv1.3.')
  })
})

describe('restarts give the same diagnosis', () => {
  it('batches of 337 events with a snapshot + restore after every 5 batches = one uninterrupted run', async () => {
    const scenarios = diagnosisScenarios(start).filter(
      (s) => s.name === 'pool growth' || s.name === 'rotation gone wrong' || s.name === 'restart',
    )
    const servers = [...new Set(scenarios.flatMap((s) => s.servers))]
    // two scenarios share billing-flex: move one later so they do not overlap
    const incidents = scenarios.flatMap((s) =>
      s.name === 'rotation gone wrong' ? s.incidents.map((i) => ({ ...i, start: i.start + HOUR })) : s.incidents,
    )
    const events = classifiedEvents({ servers, start, durationMs: 6 * HOUR, incidents })
    const once = await runStage(events, { batch: 5000 })
    const restarted = await runStage(events, { batch: 337, restartEvery: 5 })
    expect(once.filter((e) => e.hypotheses).length).toBeGreaterThan(10)
    expect(restarted).toEqual(once)
    const ids = new Set(once.filter((e) => e.status === 'resolved').map((e) => e.hypotheses?.[0]?.id))
    expect(ids).toEqual(new Set(['pool_growth', 'credentials_changed', 'restart']))
  }, 60_000)
})

describe('late and redelivered events', () => {
  it('a failure arriving after its windows closed changes neither the counts nor the diagnosis', async () => {
    const sc = diagnosisScenarios(start).find((s) => s.name === 'pool growth')!
    const events = classifiedEvents({ servers: sc.servers, start, durationMs: 6 * HOUR, incidents: sc.incidents })
    const once = await runStage(events, { batch: 5000 })
    const withHypotheses = once.filter((e) => e.hypotheses?.length)
    expect(withHypotheses.length).toBeGreaterThan(0)
    // every failure of the diagnosed incident arrives a second time 10 minutes later, while the
    // incident still goes on: its windows are closed by then, so it must count nowhere
    const first = withHypotheses[0]
    const again = (e: (typeof events)[number]) =>
      e.outcome === 'failed' && e.server === first.server && e.category === first.category
    const arrivals = events.map((e, i) => ({ e, at: e.time, i }))
    for (const [i, e] of events.entries()) if (again(e)) arrivals.push({ e, at: e.time + 10 * 60_000, i })
    arrivals.sort((a, b) => a.at - b.at || a.i - b.i)
    expect(arrivals.length - events.length).toBeGreaterThan(100)
    const late = await runStage(
      arrivals.map((a) => a.e),
      { batch: 5000 },
    )
    expect(late).toEqual(once)
  }, 60_000)
})

describe('the bundled sample story', () => {
  it('each story incident is diagnosed as what the story injected', async () => {
    const servers = SAMPLE_SERVERS.map((s) => s.name)
    const incidents = defaultIncidents(servers, start, SAMPLE.durationMs)
    const events = classifiedEvents({
      servers,
      start,
      durationMs: SAMPLE.durationMs,
      incidents,
      seed: SAMPLE.seed,
    })
    const rca = await runStage(events, { thresholds: SAMPLE_THRESHOLDS })
    const expected: Record<string, string> = {
      'orders-prod firewall_deny': 'new_clients', // 40 addresses of 81.2.69.0/24 that never logged in
      'orders-prod transient': 'restart',
      'billing-flex tls_reject': 'legacy_client',
      'billing-flex auth_fail': 'credentials_changed', // billing_app from its usual clients
      'analytics-citus limit_reached': 'connection_storm', // short sessions: the pool did not grow
    }
    const got: Record<string, string | undefined> = {}
    for (const inc of incidents) {
      const key = `${inc.server} ${inc.category}`
      if (!(key in expected)) continue
      const main = incidentsOf(inc, rca).sort((a, b) => b.count - a.count)[0]
      got[key] = main?.hypotheses?.[0]?.id
    }
    expect(got).toEqual(expected)
  }, 120_000)
})
