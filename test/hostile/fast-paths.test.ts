// The parsers' fast paths (records the relevance filter rejects are told from the raw line, not
// built) must agree with the full path (every record built, then filtered): the same records, the
// same dead letters, and every record left unbuilt one the classifier could not use. Checked on a
// generated day of each format, on the hostile seeds, and on fuzzed lines around them.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Classifier, mayClassify } from '@connrca/classifier'
import { DEFAULT_PREFIX, SAMPLE_SERVERS, writeLog } from '@connrca/cli'
import type { DeadLetter, LogRecord } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { column, scanCsv, splitCsv } from '../../packages/pglog/src/csvlog.js'
import { G, PG_LINE } from '../../packages/pglog/src/jsonlog.js'
import { TimestampParser, timestampEndAscii } from '../../packages/pglog/src/timestamp.js'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEEDS } from './support.js'

type Format = 'stderr' | 'csvlog' | 'jsonlog'
const FORMATS: Format[] = ['stderr', 'csvlog', 'jsonlog']
const classifier = new Classifier()

interface Run {
  records: LogRecord[]
  dead: Omit<DeadLetter, 'time'>[]
  irrelevant: number
}

function run(format: Format, lines: readonly string[], filtered: boolean): Run {
  const out: Run = { records: [], dead: [], irrelevant: 0 }
  const p = createParser(
    {
      format,
      prefix: format === 'stderr' ? DEFAULT_PREFIX : undefined,
      source: { kind: 'file', name: 'fast.log' },
      relevant: filtered ? mayClassify : undefined,
    },
    { record: (r) => out.records.push(r), deadLetter: ({ time: _, ...d }) => out.dead.push(d) },
  )
  for (let i = 0; i < lines.length; i++) p.push(lines[i], i)
  p.flush()
  out.irrelevant = p.irrelevant
  return out
}

/** Every way the filtered run may differ from the full one: none. */
function disagreements(format: Format, lines: readonly string[]): string[] {
  const full = run(format, lines, false)
  const fast = run(format, lines, true)
  const v: string[] = []
  if (JSON.stringify(fast.dead) !== JSON.stringify(full.dead)) v.push('dead letters differ')
  if (fast.records.length + fast.irrelevant !== full.records.length)
    v.push(`${fast.records.length} records + ${fast.irrelevant} irrelevant != ${full.records.length} records`)
  const kept = new Map(fast.records.map((r) => [r.id, r]))
  for (const r of full.records) {
    const k = kept.get(r.id)
    if (k !== undefined) {
      if (JSON.stringify(k) !== JSON.stringify(r))
        v.push(`record ${r.id} differs: ${JSON.stringify(k)} vs ${JSON.stringify(r)}`)
      continue
    }
    if (mayClassify(r.severity, r.message, 0, r.sqlstate)) v.push(`relevant record dropped: ${JSON.stringify(r)}`)
    if (classifier.classify(r) !== undefined) v.push(`classified record dropped: ${JSON.stringify(r)}`)
  }
  return v
}

function expectAgree(format: Format, lines: readonly string[]): void {
  const v = disagreements(format, lines)
  if (v.length > 0) throw new Error(`${format}: ${v.slice(0, 5).join('\n')}`)
}

const EXT: Record<Format, string> = { stderr: 'log', csvlog: 'csv', jsonlog: 'json' }
const corpus: Record<string, string[]> = {}
let dir = ''

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'connrca-fast-'))
  for (const format of FORMATS) {
    const file = path.join(dir, `day.${EXT[format]}`)
    // the bench's corpus at a lower rate: a day of three servers with every default incident
    await writeLog(file, {
      servers: SAMPLE_SERVERS.map((s) => s.name),
      start: Date.UTC(2026, 2, 2),
      durationMs: 86_400_000,
      ratePerSec: 0.1,
      format,
      prefix: DEFAULT_PREFIX,
      seed: 42,
      incidents: 'default',
    })
    corpus[format] = readFileSync(file, 'utf8').split('\n')
  }
}, 120_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * A stderr log read as the file source reads it: ASCII lines as bytes (LogParser.pushAscii, which
 * lets the lines the filter rejects go without a string), other lines as text; or every line as
 * text. The two must give the same records, dead letters and count of records let go.
 */
function readStderr(prefix: string, lines: readonly string[], bytes: boolean): Run {
  const out: Run = { records: [], dead: [], irrelevant: 0 }
  const p = createParser(
    { format: 'stderr', prefix, source: { kind: 'file', name: 'fast.log' }, relevant: mayClassify },
    { record: (r) => out.records.push(r), deadLetter: ({ time: _, ...d }) => out.dead.push(d) },
  )
  // positions are byte offsets in the log; runs of ASCII lines go in as one chunk, as LineSplitter
  // hands them on
  const at: number[] = []
  let offset = 0
  for (const l of lines) {
    at.push(offset)
    offset += Buffer.byteLength(l) + 1
  }
  const ascii = (l: string) => /^[\x00-\x7f]*$/.test(l)
  for (let i = 0; i < lines.length; ) {
    if (!bytes || !ascii(lines[i])) {
      p.push(lines[i], at[i])
      i++
      continue
    }
    let j = i
    while (j < lines.length && j - i < 50 && ascii(lines[j])) j++
    const chunk = Buffer.from(`${lines.slice(i, j).join('\n')}\n`, 'latin1')
    const spans: number[] = []
    for (let k = i; k < j; k++) spans.push(at[k] - at[i], at[k] - at[i] + lines[k].length)
    p.pushAscii(chunk, spans, at[i])
    i = j
  }
  p.flush()
  out.irrelevant = p.irrelevant
  return out
}

function expectBytesAgree(prefix: string, lines: readonly string[]): void {
  const text = readStderr(prefix, lines, false)
  const bytes = readStderr(prefix, lines, true)
  expect(JSON.stringify(bytes)).toBe(JSON.stringify(text))
}

/** log_line_prefixes the byte path reads, and ones it leaves to the text path (%c, %r, %e, %n). */
const BYTE_PREFIXES = [
  DEFAULT_PREFIX,
  '%m [%p] ',
  '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
  '%m [%p-%l] %q%u@%d ',
  '%m %x %Q [%p] %q[user=%u,db=%d,app=%a] ',
  '%s %m [%p] %i %v %L ',
  '%m ',
  '%t-%c-',
  '%t:%r:%u@%d:[%p]:',
  '%m [%p] %e ',
  '%n [%p] ',
]

/** Lines written with `prefix` (time, pid, names as the generator writes them), hostile text spliced in. */
function mutatedStderr(prefix: string) {
  const line = fc
    .record({
      time: fc.constantFrom('2026-03-02 10:00:00.001 UTC', '2026-03-02 10:00:00 CET', '2026-03-02T10:00:00.5+01:30'),
      pid: fc.constantFrom('1', '42', '9999999999999999999', ''),
      user: fc.constantFrom('app', '[unknown]', 'a b', 'LOG', ''),
      sev: fc.constantFrom('LOG', 'FATAL', 'DETAIL', 'ERROR', 'WARNING', 'LOG2', 'log'),
      msg: fc.constantFrom(
        'duration: 1.5 ms  statement: SELECT 1',
        'connection received: host=10.0.0.1 port=5',
        'checkpoint starting: time',
        'disconnection: session time: 0:00:01.000',
        'du',
        'd',
        '',
        '28P01: password authentication failed',
        '00000: duration: 1 ms',
        'Verbindung empfangen: Host=a',
        'automatic vacuum of table',
      ),
      spaces: fc.constantFrom(':  ', ': ', ':', ':   '),
    })
    .map(({ time, pid, user, sev, msg, spaces }) => {
      const pre = prefix
        .replace(/%[mts]/g, time)
        .replace(/%[pl]/g, pid)
        .replace(/%[udabhiLv]/g, user)
        .replace(/%[xQ]/g, '-12')
        .replace(/%[cer]/g, 'x')
        .replace(/%n/g, '1714557723.123')
        .replace('%q', '')
      return `${pre}${sev}${spaces}${msg}`
    })
  return fc
    .record({
      l: line,
      at: fc.nat(),
      cut: fc.nat({ max: 4 }),
      ins: fc.constantFrom('', '', '', ' ', '\t', ':', '[', '@', 'x', '\u00e9', '9'),
    })
    .map(({ l, at, cut, ins }) => {
      const a = at % (l.length + 1)
      return l.slice(0, a) + ins + l.slice(Math.min(l.length, a + cut))
    })
}

/** jsonlog lines a quick raw-text reading could get wrong. */
const TRICKY_JSON = [
  // escapes in the message: the first character after decoding decides
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","state_code":"00000","message":"\u0063onnection received: host=10.0.0.7 port=1"}`,
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","state_code":"00000","message":"\"duration\": x"}`,
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","state_code":"00000","message":"duration: 1 ms \\","x":"\"message\":\"connection received\""}`,
  // an escaped severity or key: the full way
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"F\u0041TAL","message":"duration: 1 ms"}`,
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","mess\u0061ge":"connection received: host=a","message":"duration: 1 ms"}`,
  // a repeated key: JSON.parse keeps the last
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","message":"duration: 1 ms","message":"connection received: host=a"}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","message":"duration: 1 ms","error_severity":"FATAL"}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":1,"error_severity":"LOG","state_code":"00000","message":"duration: 1 ms","state_code":"28P01"}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms","timestamp":"bad"}',
  // other key orders, whitespace
  '{"error_severity":"LOG","timestamp":"2024-05-01 10:02:03.123 UTC","message":"duration: 1 ms"}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC", "error_severity":"LOG","message":"duration: 1 ms"}',
  ' {"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms"}\t',
  // invalid JSON that looks irrelevant: a dead letter, not a count
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms"',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms"}}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration:\t1 ms"}',
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: \x"}`,
  String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: \u12"}`,
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms","pid":01}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms","pid":1.}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms",}',
  // valid but not a record: bad time, unknown severity, missing fields, the wrapper formats
  '{"timestamp":"yesterday","error_severity":"LOG","message":"duration: 1 ms"}',
  '{"timestamp":"","error_severity":"LOG","message":"duration: 1 ms"}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"VERBOSE","message":"duration: 1 ms"}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":7}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms","record":{"log_time":"2024-05-01 10:02:03.123 UTC","error_severity":"FATAL","message":"too many clients"}}',
  '{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":"duration: 1 ms","textPayload":"[1]: [1-1] db=a,user=b FATAL:  too many clients"}',
  '{"timestamp":"2024-05-01T10:02:03.123Z","error_severity":"LOG","message":"duration: 1 ms","pid":1e999,"remote_port":-0}',
]

describe('fast paths agree with building every record', () => {
  for (const format of FORMATS)
    it(`${format}: a generated day with every default incident`, () => {
      expect(corpus[format].length).toBeGreaterThan(10_000)
      const full = run(format, corpus[format], false)
      expect(full.records.length).toBeGreaterThan(10_000)
      expectAgree(format, corpus[format])
    })

  it('jsonlog: escapes, repeated keys, key order, whitespace, bad JSON, other shapes', () => {
    for (const line of TRICKY_JSON) expectAgree('jsonlog', [line])
    expectAgree('jsonlog', TRICKY_JSON)
  })

  it('stderr: ASCII lines let go from their bytes give what reading them as text gives', async () => {
    for (const prefix of BYTE_PREFIXES) {
      const file = path.join(dir, 'prefixed.log')
      await writeLog(file, {
        servers: SAMPLE_SERVERS.map((s) => s.name),
        start: Date.UTC(2026, 2, 2),
        durationMs: 86_400_000,
        ratePerSec: 0.02,
        format: 'stderr',
        prefix,
        seed: 7,
        incidents: 'default',
      })
      const lines = readFileSync(file, 'utf8').split('\n')
      const text = readStderr(prefix, lines, false)
      expect(text.irrelevant, prefix).toBeGreaterThan(1000)
      expect(text.records.length, prefix).toBeGreaterThan(1000)
      expectBytesAgree(prefix, lines)
    }
  })

  it('timestamps: read from bytes, they end where the text parser ends them, and fail where it fails', () => {
    const stamp = fc
      .record({
        base: fc.constantFrom(
          '2026-03-02 10:00:00',
          '2026-03-02T10:00:00',
          '2026-12-31 23:59:59',
          '2026-13-02 10:00:00',
          '2026-03-32 10:00:00',
          '2026-00-02 10:00:00',
          '2026-03-02 1:00:00',
        ),
        frac: fc.constantFrom('', '.', '.1', '.123', '.123456', '.12x'),
        space: fc.constantFrom('', ' ', '  '),
        zone: fc.constantFrom('', 'UTC', 'CET', 'Z', '+01', '+01:30', '+1:30', '+0130:45', '-05:', '+', 'UTC+1', 'x9y'),
        after: fc.constantFrom('', ' [1] LOG:  x', ':x', '9', '\t'),
        at: fc.nat(),
        cut: fc.nat({ max: 3 }),
        ins: fc.constantFrom('', '', ' ', ':', '.', '9', 'a', '+', '-', 'T'),
      })
      .map(({ base, frac, space, zone, after, at, cut, ins }) => {
        const t = `${base}${frac}${space}${zone}${after}`
        const a = at % (t.length + 1)
        return t.slice(0, a) + ins + t.slice(Math.min(t.length, a + cut))
      })
    const parser = new TimestampParser()
    fc.assert(
      fc.property(stamp, fc.nat({ max: 40 }), (text, len) => {
        // the line may end anywhere: the bytes after it (the next line) must not count
        const line = text.slice(0, Math.max(len, 0) || text.length)
        const b = Buffer.from(`${line}\n${text}`, 'latin1')
        const t = parser.parse(line, 0)
        expect(timestampEndAscii(b, 0, line.length)).toBe(Number.isNaN(t) ? -1 : parser.end)
      }),
      { numRuns: 5000 },
    )
  })

  it('stderr: the byte path on fuzzed real lines, every prefix', { timeout: 60_000 }, () => {
    for (const prefix of BYTE_PREFIXES)
      fc.assert(
        fc.property(fc.array(mutatedStderr(prefix), { minLength: 1, maxLength: 30 }), (lines) =>
          expectBytesAgree(prefix, lines),
        ),
        { numRuns: 150 },
      )
  })

  /** Real lines (corpus samples and seeds) with hostile text spliced in. */
  const mutated = (format: Format) =>
    fc
      .record({
        pick: fc.nat(),
        seed: fc.boolean(),
        at: fc.nat(),
        cut: fc.nat({ max: 6 }),
        ins: fc.oneof(
          fc.constantFrom(
            '"',
            '""',
            '\\',
            '\\"',
            '\\u0022',
            '\\u0063',
            ',',
            ':',
            '{',
            '}',
            '\t',
            ' ',
            '\0',
            '"x":1,',
            '"message":"connection ',
            'duration: ',
            'FATAL',
            'LOG',
            '28P01',
            '\ud800',
            '',
          ),
          fc.string({ unit: 'binary', maxLength: 6 }),
        ),
      })
      .map(({ pick, seed, at, cut, ins }) => {
        const pool = seed ? SEEDS[format] : corpus[format]
        const s = pool[pick % pool.length]
        const a = at % (s.length + 1)
        return s.slice(0, a) + ins + s.slice(Math.min(s.length, a + cut))
      })

  for (const format of FORMATS)
    it(`${format}: fuzzed real lines`, { timeout: 60_000 }, () => {
      fc.assert(
        fc.property(fc.array(mutated(format), { minLength: 1, maxLength: 30 }), (lines) => {
          const v = disagreements(format, lines)
          if (v.length > 0) throw new Error(v.slice(0, 3).join('\n'))
        }),
        { numRuns: 400 },
      )
    })
})

describe('PG_LINE (the jsonlog fast path) accepts only what JSON.parse reads the same', () => {
  // jsonlog.c's members in its order, with the group that captures each (0: checked, not kept)
  const MEMBERS: [string, number][] = [
    ['timestamp', G.Timestamp],
    ['user', G.User],
    ['dbname', G.Db],
    ['pid', G.Pid],
    ['remote_host', G.Host],
    ['remote_port', G.Port],
    ['session_id', G.Session],
    ['line_num', 0],
    ['ps', 0],
    ['session_start', 0],
    ['vxid', 0],
    ['txid', 0],
    ['error_severity', G.Severity],
    ['state_code', G.State],
    ['message', G.Message],
    ['detail', G.Detail],
    ['hint', G.Hint],
    ['internal_query', G.InternalQuery],
    ['internal_position', 0],
    ['context', G.Context],
    ['statement', G.Statement],
    ['cursor_position', 0],
    ['func_name', 0],
    ['file_name', 0],
    ['file_line_num', 0],
    ['application_name', G.App],
    ['backend_type', G.Backend],
    ['leader_pid', 0],
    ['query_id', 0],
  ]
  const INTS = new Set([
    'pid',
    'remote_port',
    'line_num',
    'txid',
    'internal_position',
    'cursor_position',
    'file_line_num',
    'leader_pid',
    'query_id',
  ])
  const hostile = fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }))
  const member = (key: string) =>
    fc.oneof(
      { weight: 30, arbitrary: fc.constant(undefined) },
      {
        weight: 30,
        arbitrary: INTS.has(key)
          ? fc.oneof(fc.integer(), fc.constantFrom(-0, 1e21, 0.5, 2 ** 53 + 2))
          : key === 'timestamp'
            ? fc.constantFrom('2024-05-01 10:02:03.123 UTC', '2024-05-01T10:02:03Z', '', 'yesterday')
            : key === 'error_severity'
              ? fc.constantFrom('LOG', 'FATAL', 'PANIK', 'log', 'DEBUG1', '')
              : key === 'state_code'
                ? fc.constantFrom('00000', '28P01', '08006', '0800', '')
                : fc.string({ maxLength: 8 }),
      },
      { weight: 1, arbitrary: hostile },
    )
  const line = fc
    .record({
      values: fc.tuple(...MEMBERS.map(([k]) => member(k))),
      required: fc.nat({ max: 3 }).map((n) => n > 0),
      swap: fc.nat(),
      at: fc.nat(),
      ins: fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            '\\',
            '"',
            '\\u0022',
            '\\"',
            '\\\\',
            ' ',
            ',',
            '\u0001',
            '\\u00',
            '}',
            '\\x',
            ',"x":1',
            ',"message":"a"',
          ),
        },
      ),
    })
    .map(({ values, required, swap, at, ins }) => {
      const parts: string[] = []
      MEMBERS.forEach(([k], i) => {
        let v = values[i]
        if (v === undefined && required && (k === 'timestamp' || k === 'error_severity' || k === 'message')) v = 'LOG'
        if (v !== undefined) parts.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`)
      })
      // now and then two members change places
      if (parts.length > 1 && swap % 4 === 0) {
        const i = swap % parts.length
        const j = (i + 1) % parts.length
        ;[parts[i], parts[j]] = [parts[j], parts[i]]
      }
      const text = `{${parts.join(',')}}`
      const a = at % (text.length + 1)
      return text.slice(0, a) + ins + text.slice(a)
    })

  it('every match is valid JSON whose fields are the captures, with no other member read', () => {
    let matched = 0
    fc.assert(
      fc.property(line, (text) => {
        const m = PG_LINE.exec(text)
        if (m === null) return
        matched++
        const o = JSON.parse(text) as Record<string, unknown>
        for (const key of Object.keys(o)) expect(MEMBERS.some(([k]) => k === key)).toBe(true)
        for (const [k, g] of MEMBERS) {
          if (g === 0) continue
          const c = m[g]
          if (c === undefined) expect(o[k]).toBeUndefined()
          else if (k === 'pid' || k === 'remote_port') expect(Object.is(Number(c), o[k])).toBe(true)
          else expect(JSON.parse(`"${c}"`)).toBe(o[k])
        }
      }),
      { numRuns: 5000 },
    )
    expect(matched).toBeGreaterThan(500)
  })

  it('matches the lines PostgreSQL writes', () => {
    expect(corpus.jsonlog.filter((l) => l !== '' && PG_LINE.test(l)).length).toBe(corpus.jsonlog.length - 1)
  })
})

describe('jsonlog records built from the captures (the jsonlog fast path)', () => {
  /** The records of `lines`, every one built (no filter). */
  const records = (lines: readonly string[]) => run('jsonlog', lines, false).records
  /** The same lines, each forced past PG_LINE (a space after its brace) into JSON.parse and build(). */
  const parsed = (lines: readonly string[]) => records(lines.map((l) => l.replace(/^\{/, '{ ')))

  it('equal what JSON.parse and build() give, field for field', () => {
    const lines = [
      ...corpus.jsonlog.filter((l) => PG_LINE.test(l)),
      // every kept field present, escaped, empty, or a host of [local]
      String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","user":"b\u00f6b","dbname":"","pid":7,"remote_host":"[local]","remote_port":5,"session_id":"a.7","error_severity":"FATAL","state_code":"28P01","message":"password authentication failed for user \"b\u00f6b\"","detail":"Connection matched pg_hba.conf line 9: \"host all all 0.0.0.0/0 md5\"","hint":"h\n2","internal_query":"SELECT 1","context":"c","statement":"","application_name":"app\ttab","backend_type":"client backend"}`,
      String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","pid":8,"remote_host":"10.0.0.9","error_severity":"LOG","message":"connection received: host=10.0.0.9 port=6","internal_query":"q"}`,
      String.raw`{"timestamp":"2024-05-01 10:02:03.123 UTC","error_severity":"LOG","message":""}`,
    ]
    expect(lines.length).toBeGreaterThan(100)
    const fast = records(lines)
    expect(fast.length).toBe(lines.length)
    expect(fast).toEqual(parsed(lines))
  })
})

describe('csvlog columns read in place (the csvlog fast path)', () => {
  const quotes = (s: string) => s.split('"').length - 1
  const csvLine = fc.oneof(
    fc.constantFrom(...SEEDS.csvlog),
    fc
      .array(
        fc.oneof(
          fc.constantFrom('', '""', '"a""b"', '"x,y"', '"line\nbreak"', 'a"b', '"', '" "', '"a"b', 'LOG', '00000'),
          fc.string({ unit: 'binary', maxLength: 5 }),
        ),
        { maxLength: 30 },
      )
      .map((cols) => cols.join(',')),
  )

  it('equal splitCsv column for column, and a balanced scan means an even number of quotes', () => {
    const starts = new Int32Array(65)
    const fields: string[] = []
    const check = (line: string) => {
      const n = scanCsv(line, starts, false)
      if (n >= 0) {
        if (splitCsv(line, fields) !== n) throw new Error(`column count differs: ${JSON.stringify(line)}`)
        for (let k = 0; k < n; k++)
          if (column(line, starts, k) !== fields[k]) throw new Error(`column ${k} differs: ${JSON.stringify(line)}`)
      }
      const b = scanCsv(line, starts, true)
      if (b >= 0 && (b !== n || quotes(line) % 2 !== 0)) throw new Error(`balanced scan wrong: ${JSON.stringify(line)}`)
    }
    for (const line of corpus.csvlog) check(line)
    fc.assert(fc.property(csvLine, check), { numRuns: 5000 })
  })
})
