import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClickHouseClient, ClickHouseError, createClient } from '../../packages/store/src/chdb-native.js'
import {
  countsByServerCategory,
  getCheckpoint,
  openStore,
  putCheckpoint,
  runReadOnlySql,
  SqlRefused,
} from '../../packages/store/src/index.js'
import { type ClickHouseFront, startClickHouseFront } from './clickhouse-http-front.js'

let front: ClickHouseFront
let client: ClickHouseClient

beforeAll(async () => {
  front = await startClickHouseFront({
    dataDir: mkdtempSync(path.join(tmpdir(), 'ch-front-')),
    user: 'connrca',
    password: 's3cret',
  })
  client = createClient({ url: front.url, username: 'connrca', password: 's3cret' })
})
afterAll(async () => {
  await client?.close()
  await front?.close()
})

describe('ClickHouse HTTP front over chDB', () => {
  it('answers ping', async () => {
    expect(await client.ping()).toEqual({ success: true })
    const res = await fetch(`${front.url}/ping`)
    expect(await res.text()).toBe('Ok.\n')
  })

  it('runs commands, inserts and queries with a real @clickhouse/client', async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS t1' })
    await client.command({
      query: 'CREATE TABLE IF NOT EXISTS t1.kv (k String, v UInt32, at DateTime64(3)) ENGINE = MergeTree ORDER BY k',
    })
    const ins = await client.insert({
      table: 't1.kv',
      values: [
        { k: 'a', v: 1, at: 1_700_000_000_123 },
        { k: 'it\'s\t"q"\n', v: 2, at: 1_700_000_000_456 },
      ],
      format: 'JSONEachRow',
    })
    expect(ins.summary?.written_rows).toBe('2')
    const rs = await client.query({
      query: 'SELECT k, v, toUnixTimestamp64Milli(at) AS ms FROM t1.kv ORDER BY v',
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { k: 'a', v: 1, ms: '1700000000123' },
      { k: 'it\'s\t"q"\n', v: 2, ms: '1700000000456' },
    ])
  })

  it('binds query parameters as the server does', async () => {
    const rs = await client.query({
      query:
        'SELECT {s:String} AS s, {n:UInt32} + 1 AS n, {a:Array(String)} AS a, {m:Nullable(String)} AS m, {ts:DateTime64(3)} AS ts',
      query_params: { s: "it's\\ \t x", n: 41, a: ["a'b", 'c'], m: null, ts: new Date(1_700_000_000_123) },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { s: "it's\\ \t x", n: '42', a: ["a'b", 'c'], m: null, ts: '2023-11-14 22:13:20.123' },
    ])
  })

  it('applies URL settings to that request only', async () => {
    const q = async (settings?: Record<string, number>) =>
      (
        await (
          await client.query({
            query: "SELECT getSetting('max_threads') AS t",
            format: 'JSONEachRow',
            clickhouse_settings: settings,
          })
        ).json<{ t: number | string }>()
      )[0].t
    expect(Number(await q({ max_threads: 1 }))).toBe(1)
    expect(Number(await q())).not.toBe(1)
  })

  it('uses the database from the client config', async () => {
    const scoped = createClient({ url: front.url, username: 'connrca', password: 's3cret', database: 't1' })
    try {
      const rs = await scoped.query({ query: 'SELECT count() AS n FROM kv', format: 'JSONEachRow' })
      expect(await rs.json()).toEqual([{ n: '2' }])
    } finally {
      await scoped.close()
    }
  })

  it('reports errors as ClickHouse does (code, type, message)', async () => {
    const err = await client.query({ query: 'SELECT * FROM t1.missing', format: 'JSONEachRow' }).catch((e) => e)
    expect(err).toBeInstanceOf(ClickHouseError)
    expect(err.code).toBe('60')
    expect(err.type).toBe('UNKNOWN_TABLE')
    const res = await fetch(`${front.url}/?query=${encodeURIComponent('SELECT (')}`, {
      headers: { 'X-ClickHouse-User': 'connrca', 'X-ClickHouse-Key': 's3cret' },
    })
    expect(res.status).toBe(500)
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('62')
    expect(await res.text()).toMatch(/^Code: 62\. DB::Exception: /)
  })

  it('refuses wrong credentials', async () => {
    const bad = createClient({ url: front.url, username: 'connrca', password: 'nope' })
    try {
      const err = await bad.query({ query: 'SELECT 1', format: 'JSONEachRow' }).catch((e) => e)
      expect(err).toBeInstanceOf(ClickHouseError)
      expect(err.type).toBe('AUTHENTICATION_FAILED')
    } finally {
      await bad.close()
    }
  })

  it('sends X-ClickHouse-Summary and honours query_id', async () => {
    const res = await client.command({ query: 'SELECT 1', query_id: 'my-query-1' })
    expect(res.query_id).toBe('my-query-1')
    expect(res.summary?.elapsed_ns).toMatch(/^\d+$/)
  })

  it('serves the store in server mode: migrate, insert, exact counts, read-only SQL, checkpoints', async () => {
    const store = await openStore({ url: front.url, username: 'connrca', password: 's3cret', database: 'srv' })
    try {
      expect(store.kind).toBe('server')
      const applied = await store.migrate()
      expect(applied).toContain('001_connection_events.sql')
      expect(await store.migrate()).toEqual([])
      const rows = Array.from({ length: 40 }, (_, i) => ({
        id: `e${i}`,
        server: `pg-${i % 2}`,
        time: Date.UTC(2024, 0, 1) + i * 1000,
        outcome: 'failed' as const,
        category: 'auth_fail' as const,
        message: `m ${i}`,
      }))
      await store.insertConnectionEvents(rows)
      await store.insertConnectionEvents(rows)
      expect(await countsByServerCategory(store)).toEqual([
        { server: 'pg-0', category: 'auth_fail', failures: 20 },
        { server: 'pg-1', category: 'auth_fail', failures: 20 },
      ])
      const res = await runReadOnlySql(store, 'SELECT count() FROM connection_events FINAL')
      expect(res.rows).toEqual([['40']])
      await expect(runReadOnlySql(store, 'DROP TABLE connection_events')).rejects.toThrow(SqlRefused)
      await putCheckpoint(store, 'k', 'v1')
      await putCheckpoint(store, 'k', 'v2')
      expect(await getCheckpoint(store, 'k')).toBe('v2')
    } finally {
      await store.close()
    }
  })
})
