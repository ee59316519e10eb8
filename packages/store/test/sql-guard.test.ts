import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  checkReadOnlySql,
  openStore,
  renderResult,
  runReadOnlySql,
  SqlRefused,
  type Store,
  splitStatements,
} from '../src/index.js'
import { SqlError } from '../src/read-only-sql.js'
import { failure, tmpDataDir } from './helpers.js'

describe('checkReadOnlySql (static)', () => {
  const refused: [string, RegExp][] = [
    ['INSERT INTO connection_events SELECT * FROM connection_events', /INSERT is not allowed/],
    ['ALTER TABLE connection_events DELETE WHERE 1', /ALTER is not allowed/],
    ['DROP TABLE connection_events', /DROP is not allowed/],
    ['CREATE TABLE x (a Int8) ENGINE = Memory', /CREATE is not allowed/],
    ['TRUNCATE TABLE connection_events', /TRUNCATE/],
    ['SET readonly = 0', /SET is not allowed/],
    ['SYSTEM STOP MERGES', /SYSTEM is not allowed/],
    ['SELECT 1 SETTINGS readonly = 0', /SETTINGS clauses are not allowed/],
    ['SELECT * FROM (SELECT 1 SETTINGS readonly=0)', /SETTINGS/],
    ['SELECT 1; DROP TABLE connection_events', /only one statement/],
    ['SELECT 1; SELECT 2', /only one statement/],
    ['SELECT * FROM system.users', /system\.users is not readable/],
    ['SELECT * FROM `system`.`grants`', /system\.grants/],
    ['SELECT name FROM system . named_collections', /named_collections/],
    ['SELECT * FROM system.query_log', /query_log/],
    ['SELECT * FROM system.settings', /system\.settings/],
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", /file\(\) is not allowed/],
    ["SELECT file('/etc/passwd')", /file\(\) is not allowed/],
    ["SELECT * FROM url('http://169.254.169.254/latest/meta-data', 'LineAsString')", /url\(\)/],
    ["SELECT * FROM remote('10.0.0.1', system.one)", /remote\(\)/],
    ["SELECT * FROM remoteSecure('h:9440', db.t, 'u', 'p')", /remoteSecure\(\)/],
    ["SELECT * FROM s3('https://b.s3.amazonaws.com/x.csv')", /s3\(\)/],
    ["SELECT * FROM mysql('h:3306', 'db', 't', 'u', 'p')", /mysql\(\)/],
    ["SELECT * FROM postgresql('h:5432', 'db', 't', 'u', 'p')", /postgresql\(\)/],
    ["SELECT * FROM clusterAllReplicas('default', system.one)", /clusterAllReplicas/],
    ["SELECT * FROM merge('system', '^users$')", /merge\(\)/],
    ["SELECT * FROM executable('x.sh', 'TSV', 'a String')", /executable/],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /OUTFILE/],
    ['SELECT 1 FORMAT CSV', /FORMAT is chosen/],
    ['SHOW USERS', /SHOW USERS is not allowed/],
    ['SHOW GRANTS', /SHOW GRANTS/],
    ['SHOW CREATE USER default', /SHOW CREATE USER/],
    ['SHOW PROCESSLIST', /PROCESSLIST/],
    ['EXPLAIN INSERT INTO t VALUES (1)', /EXPLAIN is only allowed for SELECT/],
    ['', /empty statement/],
    ["SELECT 'unterminated", /unterminated string/],
    // a heredoc must not hide what follows it
    ["SELECT $$'$$, file('/etc/passwd'), '$$'", /file\(\)/],
    ['OPTIMIZE TABLE connection_events FINAL', /OPTIMIZE is not allowed/],
  ]
  for (const [sql, why] of refused) {
    it(`refuses: ${sql || '(empty)'}`, () => {
      expect(() => checkReadOnlySql(sql)).toThrow(SqlRefused)
      expect(() => checkReadOnlySql(sql)).toThrow(why)
    })
  }

  const allowed = [
    'SELECT 1',
    'select count() from connection_events final',
    'WITH x AS (SELECT 1 AS a) SELECT a FROM x',
    '(SELECT 1) UNION ALL (SELECT 2)',
    'SHOW TABLES',
    'SHOW DATABASES',
    'SHOW CREATE TABLE connection_events',
    'DESCRIBE TABLE connection_events',
    'DESC connection_events',
    'EXPLAIN SELECT 1',
    'EXPLAIN PLAN header = 1 SELECT 1',
    'SELECT name FROM system.tables',
    "SELECT 'file(x) ; system.users SETTINGS readonly=0' AS s",
    '-- a comment; with a semicolon\nSELECT 1 /* and ; here */',
    'SELECT 1;',
    "SELECT formatDateTime(now(), '%F'), format('{}', 1)",
  ]
  for (const sql of allowed) {
    it(`allows: ${sql.replace(/\n/g, ' ')}`, () => {
      expect(() => checkReadOnlySql(sql)).not.toThrow()
    })
  }

  it('returns the statement without the trailing semicolon', () => {
    expect(checkReadOnlySql('  SELECT 1 ;  ')).toBe('SELECT 1')
  })
})

describe('splitStatements', () => {
  it('splits on top-level semicolons only', () => {
    expect(splitStatements("CREATE TABLE a (s String DEFAULT ';');\n-- x;\nSELECT 2;;\n")).toEqual([
      "CREATE TABLE a (s String DEFAULT ';')",
      'SELECT 2',
    ])
  })
})

describe('runReadOnlySql on chDB', () => {
  let store: Store
  beforeAll(async () => {
    store = await openStore({ dataDir: tmpDataDir() })
    await store.migrate()
    await store.insertConnectionEvents(Array.from({ length: 50 }, (_, i) => failure(i)))
  })
  afterAll(async () => {
    await store?.close()
  })

  it('returns columns with types and rows', async () => {
    const res = await runReadOnlySql(
      store,
      'SELECT server, count() AS n FROM connection_events FINAL GROUP BY server ORDER BY server',
    )
    expect(res.columns).toEqual([
      { name: 'server', type: 'LowCardinality(String)' },
      { name: 'n', type: 'UInt64' },
    ])
    expect(res.rows).toEqual([
      ['pg-0', '17'],
      ['pg-1', '17'],
      ['pg-2', '16'],
    ])
    expect(res.truncated).toBe(false)
    expect(res.elapsedMs).toBeGreaterThanOrEqual(0)
  })

  it('UNION ALL: each block of the stream repeats the header; rows hold data only', async () => {
    const res = await runReadOnlySql(
      store,
      "SELECT 'a' AS k, toString(number) AS v FROM numbers(2) UNION ALL SELECT 'b', toString(number) FROM numbers(2)",
    )
    expect(res.columns.map((c) => c.name)).toEqual(['k', 'v'])
    expect([...res.rows].sort()).toEqual([['a', '0'], ['a', '1'], ['b', '0'], ['b', '1']])
    // a row equal to the header's names is data when no types line follows it
    const same = await runReadOnlySql(store, "SELECT 'k' AS k, 'v' AS v")
    expect(same.rows).toEqual([['k', 'v']])
  })

  it('cuts the result at maxRows and says so', async () => {
    const res = await runReadOnlySql(store, 'SELECT number FROM system.numbers LIMIT 100000', { maxRows: 25 })
    expect(res.rows).toHaveLength(25)
    expect(res.truncated).toBe(true)
    const exact = await runReadOnlySql(store, 'SELECT number FROM numbers(25)', { maxRows: 25 })
    expect(exact.truncated).toBe(false)
  })

  it('stops a slow query at the time limit', async () => {
    const started = performance.now()
    const err = await runReadOnlySql(store, 'SELECT count() FROM numbers(1e12)', { timeoutSec: 1 }).catch((e) => e)
    expect(err).toBeInstanceOf(SqlError)
    expect(err.message).toMatch(/longer than the 1 s limit/)
    expect(performance.now() - started).toBeLessThan(8000)
  })

  it('runs SHOW and DESCRIBE', async () => {
    const tables = await runReadOnlySql(store, 'SHOW TABLES')
    expect(tables.rows.map((r) => r[0])).toContain('connection_events')
    const cols = await runReadOnlySql(store, 'DESCRIBE TABLE connection_events')
    expect(cols.rows.map((r) => r[0])).toContain('client_ip')
  })

  it('leaves the store writable afterwards (readonly is per query)', async () => {
    await runReadOnlySql(store, 'SELECT 1')
    await store.insertConnectionEvents([failure(999)])
    const [n] = await store.query<{ n: string }>('SELECT count() AS n FROM connection_events FINAL')
    expect(Number(n.n)).toBe(51)
  })

  it('refuses writes before they reach ClickHouse', async () => {
    await expect(runReadOnlySql(store, 'DROP TABLE connection_events')).rejects.toThrow(SqlRefused)
    const [n] = await store.query<{ n: string }>('SELECT count() AS n FROM connection_events FINAL')
    expect(Number(n.n)).toBe(51)
  })

  it('reports ClickHouse errors in one line', async () => {
    const err = await runReadOnlySql(store, 'SELECT nope FROM connection_events').catch((e) => e)
    expect(err).toBeInstanceOf(SqlError)
    expect(err.message).toMatch(/^query failed: .*nope/)
    expect(err.message).not.toContain('\n')
  })

  it('renders table, CSV and JSON', async () => {
    const res = await runReadOnlySql(store, "SELECT 1 AS a, 'x,y' AS b", { format: 'CSV' })
    expect(res.text).toBe('a,b\n1,"x,y"\n')
    expect(JSON.parse(renderResult(res, 'JSON')).rows).toEqual([{ a: 1, b: 'x,y' }])
    const table = renderResult(res, 'table')
    expect(table.split('\n')[0]).toMatch(/^a\s+│ b/)
    expect(table).toContain('1 row in')
  })
})
