import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PREFIX, type GroundTruth, SAMPLE, SAMPLE_SERVERS, writeLogs, writtenSampleStart } from '@connrca/cli'
import type { Category } from '@connrca/contracts'
import { countsByServerCategory, latestRcaEvents, latestWindowCounts, openStore, type Store } from '@connrca/store'
import { beforeAll, describe, expect, it } from 'vitest'
import { connrca } from '../support/cli.js'

// The README's main command, end to end: `connrca run` on the bundled sample, checked against
// the ground truth the generator counted while writing the same sample.
describe('connrca run on the bundled sample', () => {
  let home: string
  let truth: GroundTruth
  let firstRun: { stdout: string; stderr: string }
  let start: number

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'connrca-sample-'))
    const before = Date.now()
    const r = await connrca(['run', '--once', '--data-dir', join(home, 'data')])
    expect(r.stderr).toContain('caught up')
    expect(r.code).toBe(0)
    // everything goes inside the data directory; --once serves no dashboard, so announces none
    expect(readdirSync(home)).toEqual(['data'])
    expect(r.stderr).toContain(`running on the bundled sample ${join(home, 'data', 'sample')}`)
    expect(r.stderr).not.toContain('dashboard')
    firstRun = r
    // recent dates: the 24 hours up to the hour of the first run (recorded beside the sample)
    start = writtenSampleStart(join(home, 'data', 'sample'))!
    const HOUR = 3_600_000
    expect(start % HOUR).toBe(0)
    expect(start + SAMPLE.durationMs).toBeGreaterThan(before - HOUR)
    expect(start + SAMPLE.durationMs).toBeLessThanOrEqual(Date.now())
    const again = await writeLogs(join(home, 'truth'), {
      servers: SAMPLE_SERVERS.map((s) => s.name),
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents: 'default',
      start,
      ...SAMPLE,
    })
    truth = again.truth
    // The generator is deterministic: the file connrca read is the one the truth describes.
    for (const s of SAMPLE_SERVERS) {
      const a = readFileSync(join(home, 'data', 'sample', s.name, 'postgresql.log'))
      const b = readFileSync(join(home, 'truth', s.name, 'postgresql.log'))
      expect(a.equals(b)).toBe(true)
    }
  }, 300_000)

  async function withStore<T>(fn: (s: Store) => Promise<T>): Promise<T> {
    const store = await openStore({ dataDir: join(home, 'data') })
    try {
      return await fn(store)
    } finally {
      await store.close()
    }
  }

  function truthCounts(): Map<string, number> {
    const m = new Map<string, number>()
    for (const [server, cats] of Object.entries(truth.failures))
      for (const [category, n] of Object.entries(cats)) if (n) m.set(`${server}/${category}`, n)
    return m
  }

  it('stores exactly the injected failed attempts per server and category', async () => {
    const rows = await withStore((s) => countsByServerCategory(s))
    const stored = new Map(rows.map((r) => [`${r.server}/${r.category}`, Number(r.failures)]))
    expect(stored).toEqual(truthCounts())
  })

  it('stores exactly the injected failures per 5-minute window', async () => {
    const rows = await withStore((s) => latestWindowCounts(s))
    const stored = new Map<string, number>()
    for (const w of rows) stored.set(`${w.server}/${w.category}/${w.windowStart}`, Number(w.failures))
    const expected = new Map(truth.windows.map((w) => [`${w.server}/${w.category}/${w.windowStart}`, w.failures]))
    expect(stored).toEqual(expected)
  })

  it('accounts for every failure of the story in an RCA event, and finds each injected incident', async () => {
    const events = await withStore((s) => latestRcaEvents(s, { limit: 100_000 }))
    const story: Category[] = ['firewall_deny', 'auth_fail', 'tls_reject', 'limit_reached', 'transient']
    const perCause = new Map<string, number>()
    for (const e of events)
      perCause.set(`${e.server}/${e.category}`, (perCause.get(`${e.server}/${e.category}`) ?? 0) + e.count)
    for (const [key, n] of truthCounts()) {
      const category = key.split('/')[1] as Category
      // Story causes have threshold 1: every failure is in an incident. Noise causes have a
      // threshold (SAMPLE_THRESHOLDS), so only windows at or above it become incidents.
      if (story.includes(category)) expect(perCause.get(key), key).toBe(n)
      else expect(perCause.get(key) ?? 0, key).toBeLessThanOrEqual(n)
    }
    for (const inc of truth.incidents.filter((i) => story.includes(i.category))) {
      const match = events.find(
        (e) =>
          e.server === inc.server &&
          e.category === inc.category &&
          e.firstFailure >= inc.start - 60_000 &&
          e.firstFailure < inc.start + inc.durationMs,
      )
      expect(match, `${inc.server} ${inc.category} at ${new Date(inc.start).toISOString()}`).toBeDefined()
      expect(match!.status).toBe('resolved')
    }
  })

  it('explains the firewall incident the way the issue asks, with a narrow rule', async () => {
    const events = await withStore((s) => latestRcaEvents(s, { server: 'orders-prod' }))
    const fw = events.find((e) => e.category === 'firewall_deny')!
    // the firewall story starts 10:02 after the sample's start
    const at = new Date(start + 10 * 3_600_000).toISOString()
    const [day, hour] = [at.slice(0, 10), at.slice(11, 13)]
    expect(fw.text).toMatch(
      new RegExp(
        `^${fw.count} connection attempts to PostgreSQL server orders-prod failed between ${day} ${hour}:0\\d and ${hour}:\\d\\d UTC because of firewall rules\\.`,
      ),
    )
    expect(fw.suggestion?.startIp).toBe('81.2.69.0')
    expect(fw.suggestion?.endIp).toBe('81.2.69.255')
    expect(firstRun.stdout).toContain('[open] Firewall rules block connections to orders-prod')
  })

  it('a restart on the same inputs changes no count (positions and state were checkpointed)', async () => {
    const before = await withStore((s) => countsByServerCategory(s))
    const r = await connrca(['run', '--once', '--data-dir', join(home, 'data')])
    expect(r.code).toBe(0)
    expect(r.stderr, r.stderr).toMatch(/caught up: 0 records/)
    const after = await withStore((s) => countsByServerCategory(s))
    expect(after).toEqual(before)
  }, 120_000)
})
