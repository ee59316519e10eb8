import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConnectionEvent, DeadLetter, LogFormat, LogRecord } from '@connrca/contracts'
import { createParser, readLines } from '@connrca/pglog'
import { describe, expect, it } from 'vitest'
import { Classifier, isCatalogSqlstate, mayClassify, REASONS } from '../src/index.js'

// The parsers' relevance filter (ParseOptions.relevant = mayClassify) must never change what the
// classifier finds: every input is classified with and without it and the outputs compared whole.

interface Outcome {
  events: ConnectionEvent[]
  deadLetters: Omit<DeadLetter, 'time'>[]
  built: number
  irrelevant: number
}

function run(lines: string[], format: LogFormat, filter: boolean, prefix?: string): Outcome {
  const c = new Classifier()
  const events: ConnectionEvent[] = []
  const deadLetters: Omit<DeadLetter, 'time'>[] = []
  let built = 0
  const p = createParser(
    { format, prefix, source: { kind: 'file', name: 't' }, relevant: filter ? mayClassify : undefined },
    {
      record: (r: LogRecord) => {
        built++
        const ev = c.classify(r)
        if (ev) events.push(ev)
      },
      deadLetter: ({ time: _, ...d }) => deadLetters.push(d),
    },
  )
  let pos = 0
  for (const l of lines) {
    p.push(l, pos)
    pos += Buffer.byteLength(l) + 1
  }
  p.flush()
  return { events, deadLetters, built, irrelevant: p.irrelevant }
}

function same(lines: string[], format: LogFormat, prefix?: string): Outcome {
  const all = run(lines, format, false, prefix)
  const some = run(lines, format, true, prefix)
  expect(some.events).toEqual(all.events)
  expect(some.deadLetters).toEqual(all.deadLetters)
  return some
}

const P = '%m [%p] %q%u@%d '
const T = '2026-03-02 10:00:0'

describe('relevance filter (mayClassify) in the parsers', () => {
  it('builds only records that can matter and counts the rest', () => {
    const lines = [
      `${T}1.000 UTC [10] app@db LOG:  duration: 0.100 ms  statement: SELECT 1`,
      `${T}1.100 UTC [11] [unknown]@[unknown] LOG:  connection received: host=10.0.0.1 port=5000`,
      `${T}1.200 UTC [12] LOG:  checkpoint starting: time`,
      `${T}1.300 UTC [11] app@db FATAL:  password authentication failed for user "app"`,
      `${T}1.300 UTC [11] app@db DETAIL:  Password does not match for user "app".`,
      `${T}1.400 UTC [13] app@db ERROR:  relation "x" does not exist at character 15`,
      `${T}1.400 UTC [13] app@db STATEMENT:  SELECT * FROM x`,
    ]
    const out = same(lines, 'stderr', P)
    expect(out.built).toBe(2)
    expect(out.irrelevant).toBe(3)
    expect(out.events.map((e) => e.reason ?? e.outcome)).toEqual(['received', 'password_mismatch'])
  })

  it('keeps the continuation lines of a skipped record away from other records', () => {
    const lines = [
      `${T}1.000 UTC [20] [unknown]@[unknown] LOG:  connection received: host=10.0.0.2 port=5001`,
      `${T}1.100 UTC [21] app@db LOG:  duration: 1.000 ms  statement: SELECT a,`,
      '\tb FROM t', // tab-led: belongs to the skipped statement, not to pid 20's record
      `${T}1.200 UTC [20] app@db FATAL:  password authentication failed for user "app"`,
      `${T}1.300 UTC [21] app@db DETAIL:  parameters: $1 = 'x'`, // DETAIL of the skipped pid 21
      `${T}1.300 UTC [20] app@db DETAIL:  User "app" has an expired password.`,
      '\tsecond detail line',
      `${T}1.400 UTC [22] app@db LOG:  statement: SELECT 1`,
      '\tcontinued', // after a skipped record: consumed, not an orphan dead letter
    ]
    const out = same(lines, 'stderr', P)
    expect(out.deadLetters).toEqual([])
    expect(out.events.map((e) => e.reason ?? e.outcome)).toEqual(['received', 'password_expired'])
    expect(out.irrelevant).toBe(2)
  })

  it('lets through records whose SQLSTATE is one the catalog uses, whatever the language', () => {
    const prefix = '%m [%p] %e %q%u@%d '
    const lines = [
      `${T}1.000 UTC [30] 28P01 app@db FATAL:  Passwort-Authentifizierung für Benutzer »app« fehlgeschlagen`,
      `${T}1.100 UTC [31] 08P01 app@db LOG:  unvollständiges Startpaket`,
      `${T}1.200 UTC [32] 42P01 app@db ERROR:  Relation »x« existiert nicht`,
      `${T}1.300 UTC [33] 00000 app@db LOG:  Dauer: 0.1 ms`,
    ]
    const out = same(lines, 'stderr', prefix)
    expect(out.built).toBe(2)
    expect(isCatalogSqlstate('28P01') && isCatalogSqlstate('08006') && isCatalogSqlstate('57P01')).toBe(true)
    expect(isCatalogSqlstate('42P01') || isCatalogSqlstate('00000')).toBe(false)
    for (const r of Object.values(REASONS)) expect(isCatalogSqlstate(r.sqlstate ?? '')).toBe(true)
  })

  it('reads csvlog and jsonlog fields quote-aware, and dead-letters exactly as before', () => {
    const csv = [
      '2026-03-02 10:00:01.000 UTC,"app","db",40,"10.0.0.4:5000",abc.1,1,"authentication",2026-03-02 10:00:01 UTC,3/1,0,FATAL,28P01,"password authentication failed for user ""app""","Password does not match for user ""app"".",,,,,,,,"psql","client backend"',
      '2026-03-02 10:00:01.100 UTC,"app","db",41,"10.0.0.4:5001",abc.2,1,"SELECT",2026-03-02 10:00:01 UTC,3/2,0,LOG,00000,"duration: 0.1 ms  statement: SELECT ""connection received: """,,,,,,,,,"psql","client backend"',
      '2026-03-02 10:00:01.200 UTC,"app","db",42,"10.0.0.4:5002",abc.3,1,"",2026-03-02 10:00:01 UTC,,0,LOG,00000,"connection received: host=10.0.0.4 port=5002",,,,,,,,,"","client backend"',
      '2026-03-02 10:00:01.300 UTC,"app","db",43,"",abc.4,1,"",2026-03-02 10:00:01 UTC,,0,LOG,00000,"statement: SELECT 1\nFROM t",,,,,,,,,"","client backend"',
      'not,a,record',
      'bad time,"app","db",44,"",abc.5,1,"",x,,0,LOG,00000,"duration: 1 ms",,,,,,,,,"","client backend"',
    ]
    const c = same(csv.flatMap((l) => l.split('\n')), 'csvlog')
    expect(c.built).toBe(2)
    expect(c.irrelevant).toBe(2)
    expect(c.deadLetters.length).toBe(2)
    const json = [
      '{"timestamp":"2026-03-02 10:00:01.000 UTC","user":"app","dbname":"db","pid":50,"remote_host":"10.0.0.5","remote_port":5000,"error_severity":"FATAL","state_code":"28P01","message":"password authentication failed for user \\"app\\""}',
      '{"timestamp":"2026-03-02 10:00:01.100 UTC","pid":51,"error_severity":"LOG","state_code":"00000","message":"duration: 0.1 ms"}',
      '{"timestamp":"2026-03-02 10:00:01.200 UTC","pid":52,"error_severity":"LOG","state_code":"00000","message":"connection received: host=10.0.0.5 port=5002"}',
      '{"timestamp":"2026-03-02 10:00:01.300 UTC","pid":53,"error_severity":"LOG"',
    ]
    const j = same(json, 'jsonlog')
    expect(j.built).toBe(2)
    expect(j.irrelevant).toBe(1)
    expect(j.deadLetters.length).toBe(1)
  })
})

// Real logs from public projects (see shared/real_logs/INDEX.md), read in place: shared/ sits
// beside the checkout (or beside the folder of git worktrees).
const ROOT = [3, 4, 5]
  .map((up) => resolve(dirname(fileURLToPath(import.meta.url)), '../'.repeat(up), 'shared/real_logs'))
  .find((p) => existsSync(p)) ?? 'shared/real_logs'
const files = existsSync(ROOT)
  ? ['filebeat', 'pgbadger'].flatMap((d) =>
      readdirSync(join(ROOT, d))
        .filter((f) => !f.endsWith('.json'))
        .map((f) => `${d}/${f}`),
    )
  : []

describe.runIf(files.length > 0)('relevance filter on the real logs', () => {
  let skipped = 0
  it.each(files)('%s: same events and dead letters with and without it', async (rel) => {
    const lines: string[] = []
    for await (const { line } of readLines(join(ROOT, rel))) lines.push(line)
    const out = same(lines, 'auto')
    skipped += out.irrelevant
  })

  it('skips something on them (the filter is exercised)', () => {
    expect(skipped).toBeGreaterThan(1000)
  })
})
