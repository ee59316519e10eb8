import { describe, expect, it } from 'vitest'
import { JOIN_WINDOW, recordId } from '../src/index.js'
import { parse } from './helpers.js'

const P = '%m [%p] %q%u@%d '

describe('stderr multi-line join', () => {
  it('joins DETAIL/HINT/CONTEXT/STATEMENT/QUERY/LOCATION of interleaved processes by pid', () => {
    const text = [
      '2026-03-02 10:00:00.001 UTC [11] alice@db FATAL:  password authentication failed for user "alice"',
      '2026-03-02 10:00:00.002 UTC [12] bob@db ERROR:  relation "t" does not exist at character 15',
      '2026-03-02 10:00:00.003 UTC [11] alice@db DETAIL:  Connection matched pg_hba.conf line 99: "host all all 0.0.0.0/0 md5"',
      '2026-03-02 10:00:00.004 UTC [12] bob@db STATEMENT:  select * from t',
      '2026-03-02 10:00:00.005 UTC [12] bob@db HINT:  check the name',
      '2026-03-02 10:00:00.006 UTC [12] bob@db CONTEXT:  PL/pgSQL function f() line 3',
      '2026-03-02 10:00:00.007 UTC [12] bob@db QUERY:  select 1 from t',
      '2026-03-02 10:00:00.008 UTC [12] bob@db LOCATION:  parserOpenTable, parse_relation.c:1384',
      '2026-03-02 10:00:00.009 UTC [11] LOG:  next record of 11',
    ].join('\n')
    const r = parse(text, { format: 'stderr', prefix: P })
    expect(r.dead).toEqual([])
    expect(r.records).toHaveLength(3)
    const [a, b, c] = r.records
    expect(a).toMatchObject({ pid: 11, severity: 'FATAL', detail: expect.stringContaining('pg_hba.conf line 99') })
    expect(a.statement).toBeUndefined()
    expect(b).toMatchObject({
      pid: 12,
      severity: 'ERROR',
      statement: 'select * from t',
      hint: 'check the name',
      context: 'PL/pgSQL function f() line 3\ninternal query: select 1 from t',
    })
    expect(c).toMatchObject({ pid: 11, message: 'next record of 11' })
  })

  it('records are emitted in the order of their first line, ids from the first line position', () => {
    const lines = [
      '2026-03-02 10:00:00.001 UTC [1] LOG:  one',
      '2026-03-02 10:00:00.002 UTC [2] LOG:  two',
      '2026-03-02 10:00:00.003 UTC [1] DETAIL:  one more',
      '2026-03-02 10:00:00.004 UTC [3] LOG:  three',
    ]
    const r = parse(lines.join('\n'), { prefix: P })
    expect(r.records.map((x) => x.message)).toEqual(['one', 'two', 'three'])
    expect(r.records[0].source.position).toBe(0)
    expect(r.records[1].source.position).toBe(lines[0].length + 1)
    expect(r.records[1].id).toBe(recordId('test.log', lines[0].length + 1))
  })

  it('tab-continued lines extend the field written last (message, then detail)', () => {
    const text = [
      '2026-03-02 10:00:00.001 UTC [7] u@d LOG:  duration: 1 ms  statement: SELECT a,',
      '\t       b',
      '\tFROM t',
      "2026-03-02 10:00:00.001 UTC [7] u@d DETAIL:  parameters: $1 = 'x",
      "\ty'",
    ].join('\n')
    const r = parse(text, { prefix: P })
    expect(r.records).toHaveLength(1)
    expect(r.records[0].message).toBe('duration: 1 ms  statement: SELECT a,\n       b\nFROM t')
    expect(r.records[0].detail).toBe("parameters: $1 = 'x\ny'")
  })

  it('verbose mode: SQLSTATE after the severity, LOCATION dropped', () => {
    const text = [
      '2026-03-02 10:00:00.001 UTC [9] FATAL:  28P01: password authentication failed for user "x"',
      '2026-03-02 10:00:00.001 UTC [9] LOCATION:  auth_failed, auth.c:326',
    ].join('\n')
    const r = parse(text, { prefix: '%m [%p] ' })
    expect(r.records).toEqual([
      expect.objectContaining({ sqlstate: '28P01', message: 'password authentication failed for user "x"' }),
    ])
  })

  it('without a pid in the prefix, continuations join the previous record', () => {
    const r = parse(
      '2026-03-02 10:00:00 UTC LOG:  a\n2026-03-02 10:00:00 UTC DETAIL:  b\n2026-03-02 10:00:01 UTC LOG:  c',
      {
        prefix: '%t ',
      },
    )
    expect(r.records.map((x) => [x.message, x.detail])).toEqual([
      ['a', 'b'],
      ['c', undefined],
    ])
  })

  it('a record stays open for JOIN_WINDOW newer records, then a late DETAIL becomes its own record', () => {
    const lines = ['2026-03-02 10:00:00.000 UTC [1] LOG:  first']
    for (let i = 0; i < JOIN_WINDOW + 1; i++) lines.push(`2026-03-02 10:00:00.000 UTC [${100 + i}] LOG:  filler ${i}`)
    lines.push('2026-03-02 10:00:00.000 UTC [1] DETAIL:  too late')
    const r = parse(lines.join('\n'), { prefix: '%m [%p] ' })
    expect(r.records[0].detail).toBeUndefined()
    expect(r.records.at(-1)).toMatchObject({ severity: 'DETAIL', message: 'too late', pid: 1 })
    expect(r.records).toHaveLength(JOIN_WINDOW + 3)
  })
})

describe('stderr dead letters', () => {
  it('keeps unparseable lines with a reason and goes on', () => {
    const text = [
      'pg_ctl: could not start server',
      '2026-03-02 10:00:00.001 UTC [1] LOG:  fine',
      '2026-03-02 10:00:00.002 UTC [1] NONSENSE:  not a severity',
    ].join('\n')
    const r = parse(text, { format: 'stderr', prefix: '%m [%p] ' })
    expect(r.records.map((x) => x.message)).toEqual(['fine'])
    expect(r.dead).toHaveLength(2)
    expect(r.dead[0]).toMatchObject({ stage: 'parse', raw: 'pg_ctl: could not start server', source: { position: 0 } })
    expect(r.dead[0].reason).toMatch(/does not match log_line_prefix '%m \[%p\] '/)
  })

  it('a continuation line with nothing open is a dead letter', () => {
    const r = parse('\torphan continuation', { format: 'stderr', prefix: '%m [%p] ' })
    expect(r.dead[0].reason).toMatch(/continuation line/)
  })

  it('a line over 1 MB neither hangs nor is kept whole in the dead letter', () => {
    const big = 'x'.repeat(3 * 1024 * 1024)
    const t0 = Date.now()
    const r = parse(`${big}\n2026-03-02 10:00:00.001 UTC [1] LOG:  ${big}`, { format: 'stderr', prefix: '%m [%p] ' })
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(r.dead[0].raw.length).toBe(64 * 1024)
    expect(r.records[0].message.length).toBe(big.length)
  })

  it('prefix without a timestamp: dead letter naming the problem', () => {
    const r = parse('[5] LOG:  x', { format: 'stderr', prefix: '[%p] ' })
    expect(r.dead[0].reason).toMatch(/no timestamp/)
  })

  it('prefix without a timestamp on a live source: the arrival time, instead of a dead letter', () => {
    const P = 'user=%u,db=%d,app=%a,client=%h '
    const lines = [
      'user=alice,db=shop,app=psql,client=10.0.0.9 FATAL:  password authentication failed for user "alice"',
      'user=alice,db=shop,app=psql,client=10.0.0.9 DETAIL:  Password does not match for user "alice".',
    ].join('\n')
    expect(parse(lines, { format: 'stderr', prefix: P }).dead[0].reason).toMatch(/no timestamp/)
    const r = parse(lines, { format: 'stderr', prefix: P, arrivalTime: () => 1_796_000_000_000 })
    expect(r.dead).toEqual([])
    expect(r.records).toEqual([
      expect.objectContaining({ time: 1_796_000_000_000, user: 'alice', clientIp: '10.0.0.9', detail: expect.stringContaining('does not match') }),
    ])
    // a prefix with a timestamp keeps its own
    const own = parse('2026-03-02 10:02:03.123 UTC [5] LOG:  x', { format: 'stderr', prefix: '%m [%p] ', arrivalTime: () => 1 })
    expect(own.records[0].time).toBe(Date.UTC(2026, 2, 2, 10, 2, 3, 123))
  })
})

describe('records the relevance filter skips', () => {
  it("take their DETAIL's tab-led lines too, which never end up in the record written last", () => {
    // only connection texts pass, as with the classifier's filter
    const relevant = (_s: string, text: string, start: number) => text.startsWith('connection', start)
    const text = [
      '2026-03-02 10:00:00.001 UTC [2] a@db LOG:  duration: 1.0 ms  statement: select 1',
      '2026-03-02 10:00:00.002 UTC [1] LOG:  connection received: host=a port=1',
      "2026-03-02 10:00:00.002 UTC [2] a@db DETAIL:  parameters: $1 = 'x',",
      "\t$2 = 'y'",
    ].join('\n')
    const r = parse(text, { format: 'stderr', prefix: P, relevant })
    expect(r.dead).toEqual([])
    expect(r.records.map((x) => x.message)).toEqual(['connection received: host=a port=1'])
  })
})

describe('localized severity words (lc_messages = de_DE)', () => {
  it('German FEHLER / WARNUNG / TIPP / ZUSAMMENHANG / ANWEISUNG, [unbekannt] as absent', () => {
    const text = [
      '2026-12-02 19:00:05.353 UTC [10162] [unbekannt]@[unbekannt] LOG:  konnte SSL-Verbindung nicht annehmen: unsupported protocol',
      '2026-12-02 19:00:05.353 UTC [10162] [unbekannt]@[unbekannt] TIPP:  Das zeigt möglicherweise an, dass der Client keine SSL-Protokollversion zwischen TLSv1.3 und TLSv1.3 unterstützt.',
      '2026-12-02 19:00:05.400 UTC [10163] alice@shop FEHLER:  Relation »t« existiert nicht',
      '2026-12-02 19:00:05.400 UTC [10163] alice@shop ZUSAMMENHANG:  PL/pgSQL-Funktion f()',
      '2026-12-02 19:00:05.400 UTC [10163] alice@shop ANWEISUNG:  select * from t',
      '2026-12-02 19:00:05.500 UTC [10164] alice@shop WARNUNG:  Verbindung wird abgebrochen wegen Absturz eines anderen Serverprozesses',
    ].join('\n')
    const r = parse(text, { format: 'stderr', prefix: P })
    expect(r.dead).toEqual([])
    expect(r.records.map((x) => x.severity)).toEqual(['LOG', 'ERROR', 'WARNING'])
    expect(r.records[0]).toMatchObject({ user: undefined, database: undefined, hint: expect.stringContaining('TLSv1.3') })
    expect(r.records[1]).toMatchObject({ context: 'PL/pgSQL-Funktion f()', statement: 'select * from t' })
  })

  it('PANIK is PANIC in stderr lines as in csvlog and jsonlog (the scan once took only PANIC)', () => {
    const r = parse('2026-12-02 19:00:06.000 UTC [10165] PANIK:  konnte Datei nicht schreiben', { format: 'stderr', prefix: P })
    expect(r.dead).toEqual([])
    expect(r.records.map((x) => x.severity)).toEqual(['PANIC'])
  })
})

describe('settle (follow mode, at the current end of a file)', () => {
  it('emits every open record but the newest, which may still get its DETAIL', async () => {
    const { createParser } = await import('../src/index.js')
    const got: string[] = []
    const p = createParser(
      { format: 'stderr', prefix: P, source: { kind: 'file', name: 'f' } },
      { record: (r) => got.push(`${r.pid} ${r.message}${r.detail ? ` / ${r.detail}` : ''}`), deadLetter: () => {} },
    )
    p.push('2026-03-02 10:00:00.001 UTC [11] a@db FATAL:  password authentication failed for user "a"', 0)
    p.push('2026-03-02 10:00:00.001 UTC [11] a@db DETAIL:  Password does not match for user "a".', 100)
    p.push('2026-03-02 10:00:00.002 UTC [12] b@db FATAL:  password authentication failed for user "b"', 200)
    p.settle()
    expect(got).toEqual(['11 password authentication failed for user "a" / Password does not match for user "a".'])
    p.push('2026-03-02 10:00:00.002 UTC [12] b@db DETAIL:  User "b" has an expired password.', 300)
    p.flush()
    expect(got[1]).toBe('12 password authentication failed for user "b" / User "b" has an expired password.')
  })

  it('without a configured prefix (format auto, or stderr alone) settle decides on the lines there are', async () => {
    const { createParser } = await import('../src/index.js')
    for (const format of ['auto', 'stderr'] as const) {
      const got: string[] = []
      const p = createParser(
        { format, source: { kind: 'file', name: 'f' } },
        { record: (r) => got.push(`${r.pid} ${r.user}`), deadLetter: () => {} },
      )
      p.push('2026-03-02 10:00:00.001 UTC [11] a@db FATAL:  password authentication failed for user "a"', 0)
      p.push('2026-03-02 10:00:00.002 UTC [12] b@db FATAL:  password authentication failed for user "b"', 100)
      p.settle()
      expect(got).toEqual(['11 a'])
    }
  })
})
