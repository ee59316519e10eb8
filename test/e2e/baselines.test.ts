import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type InjectedIncident, writeLog } from '@connrca/cli'
import { latestRcaEvents, openStore } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connrca } from '../support/cli.js'

const DAY = 86_400_000
const start = Date.UTC(2026, 3, 6)
const server = 'analytics-citus'
const incidents: InjectedIncident[] = [
  // a load-balancer probe all five days, and a real deny on day 5
  {
    server,
    category: 'network',
    reason: 'incomplete_startup_packet',
    start,
    durationMs: 5 * DAY,
    perMinute: 0.5,
    clients: ['10.0.0.4'],
  },
  {
    server,
    category: 'firewall_deny',
    reason: 'no_hba_entry',
    start: start + 4 * DAY + 10 * 3_600_000,
    durationMs: 20 * 60_000,
    perMinute: 12,
    clients: ['10.30.1.21', '10.30.1.22'],
    user: 'citus',
    database: 'citus',
  },
]

/** `connrca run` with the default config: baselines on, learned in the checkpointed window stage. */
describe('connrca run with baselines (the default)', () => {
  let home: string
  let text: string

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'connrca-baselines-'))
    await writeLog(join(home, 'all.log'), {
      servers: [server],
      start,
      durationMs: 5 * DAY,
      ratePerSec: 0.2,
      format: 'stderr',
      incidents,
    })
    text = await readFile(join(home, 'all.log'), 'utf8')
  }, 120_000)
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true })
  })

  const run = async (file: string, dataDir: string) => {
    const r = await connrca(['run', '--once', '--json', '--data-dir', dataDir, '--server', server, file])
    expect(r.code, r.stderr).toBe(0)
  }
  const stored = async (dataDir: string) => {
    const store = await openStore({ dataDir })
    try {
      const events = await latestRcaEvents(store, { limit: 100_000 })
      return events.map((e) => `${e.category} ${e.id} ${e.status} ${e.count}`).sort()
    } finally {
      await store.close()
    }
  }

  it('the probe stops opening incidents once learned, the deny still opens, and a restart mid-way changes nothing', async () => {
    await run(join(home, 'all.log'), join(home, 'once'))
    const once = await stored(join(home, 'once'))

    // the same log read in two runs: the first stops 2.6 days in (at a record boundary), the rest is appended
    const cut = text.indexOf('\n2026-04-08 15:', 0) + 1
    expect(cut).toBeGreaterThan(0)
    const grown = join(home, 'grown.log')
    await writeFile(grown, text.slice(0, cut))
    await run(grown, join(home, 'twice'))
    await appendFile(grown, text.slice(cut))
    await run(grown, join(home, 'twice'))
    expect(await stored(join(home, 'twice'))).toEqual(once)

    const opened = (category: string) => once.filter((l) => l.startsWith(`${category} `))
    expect(opened('firewall_deny').length).toBe(1)
    // with threshold 1 the probe opens ~50 incidents a day; learned after 3 days, days 4 and 5 bring ≤ 1
    const store = await openStore({ dataDir: join(home, 'once') })
    try {
      const rows = await store.query<{ day: string; n: string }>(
        `SELECT toUInt32(toDate(first_failure)) - {d0:UInt32} AS day, count() AS n
         FROM (SELECT id, argMax(first_failure, revision) AS first_failure, argMax(category, revision) AS category FROM rca_events GROUP BY id)
         WHERE category = 'network' GROUP BY day ORDER BY day`,
        { d0: start / DAY },
      )
      const perDay = Object.fromEntries(rows.map((r) => [Number(r.day), Number(r.n)]))
      for (const d of [0, 1, 2]) expect(perDay[d]).toBeGreaterThan(20)
      expect((perDay[3] ?? 0) + (perDay[4] ?? 0)).toBeLessThanOrEqual(1)
    } finally {
      await store.close()
    }
  }, 300_000)
})
