import type { ConnectionEvent } from '@connrca/contracts'
import { WindowStage } from '@connrca/pipeline'
import { baselineHistory, openStore, type Store } from '@connrca/store'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig, PipelineConfig, type RcaEvent } from '@connrca/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type BaselineReport,
  baselineReport,
  baselineWeek,
  classifiedEvents,
  renderBaselineReport,
  runStage,
} from '../src/generate/index.js'

const DAY = 86_400_000
const start = Date.UTC(2026, 3, 6) // a Monday
const week = { ...baselineWeek(start), start, durationMs: 7 * DAY, ratePerSec: 0.25 }
/** Baselines apply from this day on (minDays = 3 by default). */
const LEARNED = 3

let events: ConnectionEvent[]
let report: BaselineReport

beforeAll(async () => {
  events = classifiedEvents(week)
  report = await baselineReport({ ...week, events })
  console.log(renderBaselineReport(report))
}, 180_000)

const total = (r: BaselineReport['fixed'], category: string, from: number, to: number) =>
  r.opened.slice(from, to).reduce((a, d) => a + ((d as Record<string, number>)[category] ?? 0), 0)

describe('baselines on a generated week', () => {
  it('no injected incident is lost to baselines, and each is still diagnosed as injected', () => {
    expect(report.baseline.injected.length).toBe(13)
    for (const rule of [report.fixed, report.baseline]) {
      for (const inc of rule.injected) {
        const label = `${rule.rule}: ${inc.server} ${inc.category} ${new Date(inc.start).toISOString()}`
        expect(inc.found, label).toBe(true)
        expect(inc.diagnosed, label).toBe(inc.expect)
      }
    }
  })

  it('the probe trickle and the stray wrong passwords stop paging once learned', () => {
    // fixed threshold 1: the trickle of 7 servers opens an incident 150+ times a day, every day
    for (const d of report.fixed.opened) expect(d.network).toBeGreaterThan(100)
    for (const d of report.fixed.opened) expect(d.auth_fail).toBeGreaterThan(30)
    // before minDays of history the baselines judge as the fixed thresholds do
    expect(report.baseline.opened.slice(0, LEARNED)).toEqual(report.fixed.opened.slice(0, LEARNED))
    // after: at most one probe window in the 4 × 7 × 288 reaches the learned threshold (P ≈ 7e-5 each)
    expect(total(report.baseline, 'network', LEARNED, 7)).toBeLessThanOrEqual(1)
    // auth_fail opens only for the rotation (day 3) and the password guessing (day 4)
    expect(report.baseline.opened.slice(LEARNED).map((d) => d.auth_fail ?? 0)).toEqual([1, 1, 0, 0])
    // the situations themselves open exactly as with fixed thresholds
    for (const c of ['firewall_deny', 'limit_reached', 'tls_reject', 'transient']) {
      expect(total(report.baseline, c, 0, 7), c).toBe(total(report.fixed, c, 0, 7))
    }
  })

  it('restarts give the same incidents: batches of 777 with a snapshot + restore every 7 batches', async () => {
    const once = await runStage(events, { batch: 5000 })
    const restarted = await runStage(events, { batch: 777, restartEvery: 7 })
    expect(restarted.length).toBe(once.length)
    expect(restarted).toEqual(once)
  }, 120_000)
})

describe('baselines learned from the store on a fresh start', () => {
  let dataDir: string
  let store: Store
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'connrca-baselines-'))
    store = await openStore({ dataDir })
    await store.migrate()
  }, 60_000)
  afterAll(async () => {
    await store?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('a new stage seeded from the stored days judges the next day as the run that saw them', async () => {
    const pipeline = PipelineConfig.parse({})
    const stage = (o: { store?: Store; history?: Awaited<ReturnType<typeof baselineHistory>> }) => {
      const out: RcaEvent[] = []
      const s = new WindowStage({
        pipeline,
        servers: [],
        store: o.store ?? {
          insertConnectionEvents: async () => {},
          insertWindowCounts: async () => {},
          insertRcaEvents: async () => {},
        },
        storeOutcomes: [],
        rcaOut: { publish: async (ms) => void out.push(...ms.map((m) => m.value)), flush: async () => {} },
        baselineHistory: o.history,
      })
      return { s, out }
    }
    const server = (e: ConnectionEvent) => e.server === 'analytics-citus' || e.server === 'billing-flex'
    const mine = events.filter(server)
    const before = (d: number) => mine.filter((e) => e.time < start + d * DAY)
    const from = (d: number) => mine.filter((e) => e.time >= start + d * DAY)

    // the whole week in one run
    const whole = stage({})
    await whole.s.handle(mine)
    await whole.s.finish()

    // days 0–4 into the store; then a fresh stage (no checkpoint) re-reads from day 4, the store's newest day
    const first = stage({ store })
    await first.s.handle(before(5))
    await first.s.finish()
    const history = await baselineHistory(store, { days: pipeline.baselines.learnDays, windowMs: 300_000 })
    expect(new Set(history.map((h) => h.day))).toEqual(new Set([0, 1, 2, 3].map((d) => start / DAY + d)))
    const fresh = stage({ history })
    await fresh.s.handle(from(4))
    await fresh.s.finish()

    const judged = (out: RcaEvent[]) =>
      out
        .filter((e) => e.firstFailure >= start + 5 * DAY)
        .map((e) => `${e.server} ${e.category} ${e.status} ${e.count}`)
        .sort()
    expect(judged(whole.out).length).toBeGreaterThan(0)
    expect(judged(fresh.out)).toEqual(judged(whole.out))
    // without the history the probe trickle pages again
    const amnesiac = stage({})
    await amnesiac.s.handle(from(4))
    await amnesiac.s.finish()
    expect(judged(amnesiac.out).filter((l) => l.includes(' network open')).length).toBeGreaterThan(50)
  }, 120_000)
})

describe('pipeline.baselines in connrca.yaml', () => {
  it('on by default (7 days, from 3 days of history, p = 1e-4); a bad value is one line naming it', () => {
    expect(parseConfig({}).pipeline.baselines).toEqual({ enabled: true, learnDays: 7, minDays: 3, p: 0.0001 })
    expect(parseConfig({ pipeline: { baselines: { enabled: false } } }).pipeline.baselines.enabled).toBe(false)
    expect(() => parseConfig({ pipeline: { baselines: { learnDays: 2 } } }, {}, 'connrca.yaml')).toThrow(
      /^connrca\.yaml: pipeline\.baselines: minDays must not exceed learnDays$/,
    )
    expect(() => parseConfig({ pipeline: { baselines: { p: 2 } } }, {}, 'connrca.yaml')).toThrow(
      /connrca\.yaml: pipeline\.baselines\.p: /,
    )
  })
})
