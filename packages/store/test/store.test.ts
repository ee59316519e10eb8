import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  countsByServerCategory,
  defaultMigrationsDir,
  getCheckpoint,
  latestRcaEvents,
  latestWindowCounts,
  loadMigrations,
  MigrationError,
  openStore,
  putCheckpoint,
  type Store,
  StoreError,
} from '../src/index.js'
import { failure, rcaEvent, T0, tmpDataDir, windowCount } from './helpers.js'

let store: Store
const dataDir = tmpDataDir()

beforeAll(async () => {
  store = await openStore({ dataDir, ttlDays: 7 })
})
afterAll(async () => {
  await store?.close()
})

describe('migrations', () => {
  it('applies every migration file once, in order, and records it', async () => {
    const files = readdirSync(defaultMigrationsDir())
      .filter((f) => /^\d{3}_.*\.sql$/.test(f))
      .sort()
    const applied = await store.migrate()
    expect(applied).toEqual(files)
    expect(applied.slice(0, 5)).toEqual([
      '001_connection_events.sql',
      '002_window_counts.sql',
      '003_rca_events.sql',
      '004_dead_letters.sql',
      '005_checkpoints.sql',
    ])
    const recorded = await store.query<{ name: string }>('SELECT name FROM schema_migrations FINAL ORDER BY name')
    expect(recorded.map((r) => r.name)).toEqual(files)
  })

  it('is a no-op the second time', async () => {
    expect(await store.migrate()).toEqual([])
    const n = await store.query<{ n: string }>('SELECT count() AS n FROM schema_migrations FINAL')
    expect(Number(n[0].n)).toBe(readdirSync(defaultMigrationsDir()).filter((f) => /^\d{3}_.*\.sql$/.test(f)).length)
  })

  it('every statement of every migration can run twice (what makes concurrent migrators safe)', async () => {
    for (const m of await loadMigrations(defaultMigrationsDir(), { ttl_days: 7 })) {
      for (const sql of m.statements) await store.client.command({ query: sql })
    }
    expect(await store.migrate()).toEqual([])
  })

  it('creates the tables with the requested engines, keys and TTL', async () => {
    const tables = await store.query<{ name: string; engine_full: string }>(
      `SELECT name, engine_full FROM system.tables WHERE database = {db:String} ORDER BY name`,
      { db: store.database },
    )
    const byName = Object.fromEntries(tables.map((t) => [t.name, t.engine_full]))
    expect(byName.connection_events).toMatch(
      /^ReplacingMergeTree PARTITION BY toDate\(time\) ORDER BY \(server, time, id\)/,
    )
    expect(byName.connection_events).toContain('toIntervalDay(7)')
    expect(byName.window_counts).toMatch(/^ReplacingMergeTree\(revision\)/)
    expect(byName.rca_events).toMatch(/^ReplacingMergeTree\(revision\) ORDER BY id/)
    expect(byName.checkpoints).toMatch(/^ReplacingMergeTree\(updated\) ORDER BY name/)
    expect(byName.dead_letters).toContain('ORDER BY (stage, id)')
  })

  it('refuses a migration that was edited after it was applied', async () => {
    const dir = path.join(dataDir, 'edited-migrations')
    mkdirSync(dir)
    writeFileSync(path.join(dir, '001_connection_events.sql'), 'SELECT 1;')
    const other = await openStore({ dataDir, migrationsDir: dir })
    try {
      await expect(other.migrate()).rejects.toThrow(MigrationError)
      await expect(other.migrate()).rejects.toThrow(/001_connection_events.sql was changed after it was applied/)
    } finally {
      await other.close()
    }
  })

  it('follows a changed ttlDays with ALTER ... MODIFY TTL', async () => {
    const other = await openStore({ dataDir, ttlDays: 45 })
    try {
      await other.migrate()
      const [t] = await other.query<{ engine_full: string }>(
        `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'connection_events'`,
        { db: other.database },
      )
      expect(t.engine_full).toContain('toIntervalDay(45)')
    } finally {
      await other.close()
    }
  })
})

describe('idempotent writes', () => {
  it('writing the same connection events twice does not change any count', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => failure(i))
    await store.insertConnectionEvents(rows)
    const once = await countsByServerCategory(store)
    await store.insertConnectionEvents(rows)
    await store.insertConnectionEvents(rows.slice(100, 200))
    const twice = await countsByServerCategory(store)
    expect(twice).toEqual(once)
    expect(once.reduce((a, c) => a + c.failures, 0)).toBe(300)
    expect(once.find((c) => c.server === 'pg-0' && c.category === 'firewall_deny')?.failures).toBe(50)
  })

  it('keeps every field of a connection event, special characters included', async () => {
    const [row] = await store.query<Record<string, unknown>>(
      `SELECT id, server, toUnixTimestamp64Milli(time) AS ms, outcome, category, reason, user, client_ip, client_port,
              message, source_kind, source_position
       FROM connection_events FINAL WHERE id = 'ev-7'`,
    )
    expect(row).toEqual({
      id: 'ev-7',
      server: 'pg-1',
      ms: String(T0 + 7000),
      outcome: 'failed',
      category: 'auth_fail',
      reason: 'password_auth_failed',
      user: 'app',
      client_ip: '10.0.0.7',
      client_port: 50007,
      message: 'connection 7 failed: "quoted" \\ and\nnewline',
      source_kind: 'file',
      source_position: '700',
    })
  })

  it('counts only failures, within the time range', async () => {
    await store.insertConnectionEvents([
      failure(1000, { outcome: 'authorized', category: undefined, reason: undefined }),
      failure(1001, { outcome: 'received', category: undefined }),
    ])
    const all = await countsByServerCategory(store)
    expect(all.reduce((a, c) => a + c.failures, 0)).toBe(300)
    const first100s = await countsByServerCategory(store, { from: T0, to: T0 + 100_000 })
    expect(first100s.reduce((a, c) => a + c.failures, 0)).toBe(100)
    const onePg = await countsByServerCategory(store, { server: 'pg-2' })
    expect(onePg.reduce((a, c) => a + c.failures, 0)).toBe(100)
  })

  it('accepts a batch spanning more days than one insert may normally touch', async () => {
    const day = 86_400_000
    const rows = Array.from({ length: 150 }, (_, i) =>
      failure(5000 + i, { server: 'pg-old', time: T0 - (i + 1) * day }),
    )
    await store.insertConnectionEvents(rows)
    const counts = await countsByServerCategory(store, { server: 'pg-old' })
    expect(counts.reduce((a, c) => a + c.failures, 0)).toBe(150)
  })

  it('window counts: a later revision replaces the earlier one, re-sent revisions do not add up', async () => {
    await store.insertWindowCounts([windowCount({ revision: 1, failures: 10 })])
    await store.insertWindowCounts([
      windowCount({ revision: 3, failures: 14 }),
      windowCount({ revision: 2, failures: 12 }),
    ])
    await store.insertWindowCounts([windowCount({ revision: 1, failures: 10 })])
    const w = await latestWindowCounts(store, { server: 'pg-1' })
    expect(w).toHaveLength(1)
    expect(w[0]).toEqual(windowCount({ revision: 3, failures: 14 }))
    const [sum] = await store.query<{ f: string }>(`SELECT sum(failures) AS f FROM window_counts FINAL`)
    expect(Number(sum.f)).toBe(14)
  })

  it('rca events: the latest revision per id wins and round-trips intact', async () => {
    await store.insertRcaEvents([rcaEvent({ revision: 1 }), rcaEvent({ id: 'rca-2', server: 'pg-2', lastFailure: T0 })])
    const latest = rcaEvent({ revision: 2, status: 'resolved', count: 55, lastFailure: T0 + 180_000 })
    await store.insertRcaEvents([latest, rcaEvent({ revision: 1 })])
    const events = await latestRcaEvents(store)
    expect(events.map((e) => [e.id, e.revision])).toEqual([
      ['rca-1', 2],
      ['rca-2', 1],
    ])
    expect(events[0]).toEqual(latest)
    const noSuggestion = rcaEvent({ id: 'rca-3', suggestion: undefined })
    delete noSuggestion.suggestion
    await store.insertRcaEvents([noSuggestion])
    const [r3] = await latestRcaEvents(store, { server: 'pg-1', status: 'open' })
    expect(r3).toEqual(noSuggestion)
  })

  it('rca events: the diagnosis (hypotheses) round-trips; events without one read without the field', async () => {
    const diagnosed = rcaEvent({
      id: 'rca-h',
      hypotheses: [
        {
          version: 1,
          id: 'new_clients',
          title: 'new clients or a moved egress address',
          text: '30 of the 30 denied addresses never logged in before.',
          score: 0.95,
          evidence: { addresses: 30, attempts: 398 },
          clients: ['81.2.69.20'],
          steps: ['Confirm the clients.'],
        },
        {
          version: 1,
          id: 'password_guessing',
          title: 'password guessing from 203.0.113.7',
          text: 't',
          score: 0.5,
          severity: 'critical',
          security: true,
          evidence: {},
          clients: [],
          steps: [],
        },
      ],
    })
    await store.insertRcaEvents([diagnosed])
    const got = (await latestRcaEvents(store)).find((e) => e.id === 'rca-h')
    expect(got).toEqual(diagnosed)
    const [col] = await store.query<{ h: string }>(`SELECT hypotheses AS h FROM rca_events FINAL WHERE id = 'rca-1'`)
    expect(col.h).toBe('')
  })

  it('dead letters are deduplicated by stage and id', async () => {
    const dl = { id: 'd1', stage: 'parse' as const, reason: 'unparseable', raw: 'garbage\u0000line', time: T0 }
    await store.insertDeadLetters([dl, { ...dl, id: 'd2' }])
    await store.insertDeadLetters([{ ...dl, time: T0 + 5000 }])
    const [n] = await store.query<{ n: string }>('SELECT count() AS n FROM dead_letters FINAL')
    expect(Number(n.n)).toBe(2)
    const [raw] = await store.query<{ raw: string }>(`SELECT raw FROM dead_letters FINAL WHERE id = 'd2'`)
    expect(raw.raw).toBe('garbage\u0000line')
  })
})

describe('checkpoints', () => {
  it('returns undefined for an unknown name and the last value put', async () => {
    expect(await getCheckpoint(store, 'source:/var/log/pg.log')).toBeUndefined()
    for (let i = 0; i < 20; i++) await putCheckpoint(store, 'source:/var/log/pg.log', String(i * 100))
    await putCheckpoint(store, 'other', 'x')
    expect(await getCheckpoint(store, 'source:/var/log/pg.log')).toBe('1900')
    expect(await getCheckpoint(store, 'other')).toBe('x')
  })
})

describe('query and config errors', () => {
  it('binds parameters', async () => {
    const rows = await store.query<{ n: string; m: number; s: string }>(
      'SELECT {n:UInt32} + 1 AS n, toUInt32({n:UInt32}) AS m, {s:String} AS s',
      { n: 41, s: "it's" },
    )
    // 64-bit integers come back quoted, as from a ClickHouse server
    expect(rows).toEqual([{ n: '42', m: 41, s: "it's" }])
  })

  it('a query that fails mid-output does not leak into the next one (chDB session is replaced)', async () => {
    await expect(
      store.query('SELECT throwIf(number = 50000) AS t FROM numbers(100000) SETTINGS max_block_size = 1000'),
    ).rejects.toThrow(/throwIf|non-zero/)
    expect(await store.query('SELECT 1 AS x')).toEqual([{ x: 1 }])
    // session state (current database, 64-bit quoting) survives the replacement
    expect(await store.query('SELECT currentDatabase() AS d, toUInt64(1) AS n')).toEqual([{ d: 'connrca', n: '1' }])
  })

  it('rejects a bad database name in one line', async () => {
    await expect(openStore({ dataDir, database: 'x; DROP' })).rejects.toThrow(StoreError)
    await expect(openStore({ dataDir, url: 'not a url' })).rejects.toThrow(/store config: url/)
  })
})
