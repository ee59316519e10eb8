import { openStore, type Store, StoreError } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connrca } from '../support/cli.js'
import { hasClickHouseServer, startClickHouseServer } from '../support/clickhouse-server.js'

// The HTTP path of the store against a real ClickHouse server (Debian's package). Its version
// (18.16) predates connrca's schema, so this proves transport, auth and errors with plain
// statements; the schema itself runs on the real engine through chDB everywhere else.
const available = hasClickHouseServer()
if (!available) {
  const msg = 'clickhouse-server is not installed (apt-get install clickhouse-server): real-server smoke test'
  if (process.env.CI) throw new Error(`${msg} cannot run under CI=true`)
  console.warn(`SKIPPED LOUDLY: ${msg} skipped`)
}

describe.skipIf(!available)('store over HTTP against a real clickhouse-server', () => {
  const user = 'connrca'
  const password = 'smoke-test-password'
  let server: Awaited<ReturnType<typeof startClickHouseServer>>
  let store: Store

  beforeAll(async () => {
    server = await startClickHouseServer(user, password)
    store = await openStore({ url: server.url, username: user, password, database: 'connrca_smoke' })
  }, 60_000)

  afterAll(async () => {
    await store?.close()
    await server?.stop()
  })

  it('the CLI against a server that refuses its password: one line, no client WARN or stack trace', async () => {
    const r = await connrca(['why'], {
      env: { CONNRCA_STORE_URL: server.url, CONNRCA_STORE_USER: user, CONNRCA_STORE_PASSWORD: 'wrong-password' },
    })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(new RegExp(`^connrca: store: cannot reach ClickHouse at ${server.url}: .*(password|Authentication)`, 'i'))
    expect(r.stderr).not.toContain('wrong-password')
  }, 60_000)

  it('creates, inserts and reads back through @clickhouse/client', async () => {
    expect(store.kind).toBe('server')
    await store.client.command({
      query: 'CREATE TABLE IF NOT EXISTS smoke (id UInt64, server String) ENGINE = MergeTree ORDER BY id',
    })
    await store.client.insert({
      table: 'smoke',
      values: Array.from({ length: 1000 }, (_, i) => ({ id: i, server: `pg-${i % 3}` })),
      format: 'JSONEachRow',
    })
    // 18.16 has no query parameters ({name:Type} came in 19.x): plain SQL only here
    const rows = await store.query<{ server: string; n: string }>(
      'SELECT server, count() AS n FROM smoke WHERE id < 900 GROUP BY server ORDER BY server',
    )
    expect(rows.map((r) => [r.server, Number(r.n)])).toEqual([
      ['pg-0', 300],
      ['pg-1', 300],
      ['pg-2', 300],
    ])
  })

  it('a wrong password ends in one clear StoreError', async () => {
    const err = await openStore({ url: server.url, username: user, password: 'wrong', database: 'connrca_smoke' }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(StoreError)
    expect((err as Error).message).toMatch(
      /^store: cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+: .*(password|Authentication)/i,
    )
    expect((err as Error).message).not.toContain('wrong')
    expect((err as Error).message.split('\n')).toHaveLength(1)
  })

  it('a bad statement is an error with the server exception code', async () => {
    const err = await store.query('SELECT no_such_column FROM smoke').then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    // 18.16 words its exceptions differently from the servers the client parses into
    // ClickHouseError, but the code and text come through: 47 = UNKNOWN_IDENTIFIER
    expect(err?.message.trim()).toMatch(/^Code: 47\b.*Unknown identifier: no_such_column/)
  })
})
