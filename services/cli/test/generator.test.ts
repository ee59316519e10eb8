import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Classifier } from '@connrca/classifier'
import type { Category, LogRecord } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { afterAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_PREFIX,
  type GenerateOptions,
  type GenFormat,
  type GroundTruth,
  generateLines,
  generateSample,
  renderedRecords,
  SYSLOG_PREFIX,
  writeLog,
  writeLogs,
} from '../src/generate/index.js'

const DAY = 86_400_000
const start = Date.UTC(2024, 4, 1)
const SAMPLE = ['orders-prod', 'billing-flex', 'analytics-citus']
const base: GenerateOptions = {
  servers: SAMPLE,
  start,
  durationMs: DAY,
  ratePerSec: 0.3,
  format: 'stderr',
  incidents: 'default',
  seed: 7,
}

function digest(lines: Iterable<string>): string {
  const h = createHash('sha256')
  for (const l of lines) h.update(`${l}\n`)
  return h.digest('hex')
}

function fullTruth(opts: GenerateOptions): { lines: string[]; truth: GroundTruth } {
  let truth: GroundTruth | undefined
  const lines: string[] = []
  for (const t of renderedRecords(opts, (x) => (truth = x))) lines.push(...t.split('\n'))
  return { lines, truth: truth! }
}

describe('determinism', () => {
  it('same seed, same lines; another seed, other lines', () => {
    const short = { ...base, durationMs: DAY / 12, ratePerSec: 2 }
    const a = digest(generateLines(short))
    expect(digest(generateLines(short))).toBe(a)
    expect(digest(generateLines({ ...short, seed: 8 }))).not.toBe(a)
  })

  it("a server's lines do not depend on which other servers are generated", () => {
    const one = { ...base, durationMs: DAY / 24, ratePerSec: 2, format: 'syslog' as const }
    const alone = [...generateLines({ ...one, servers: ['billing-flex'] })]
    const mixed = [...generateLines(one)].filter((l) => l.includes(' billing-flex postgres['))
    expect(mixed).toEqual(alone)
  })
})

// An independent reading of the text: which category a failing line belongs to.
const GREP: Array<[RegExp, Category]> = [
  [/ FATAL: {2}no pg_hba\.conf entry/, 'firewall_deny'],
  [/ FATAL: {2}password authentication failed/, 'auth_fail'],
  [/ LOG: {2}could not accept SSL connection/, 'tls_reject'],
  [/ FATAL: {2}(sorry, too many clients|remaining connection slots)/, 'limit_reached'],
  [/ FATAL: {2}the database system is (starting up|shutting down)/, 'transient'],
  [/ FATAL: {2}(role|database) "[^"]+" does not exist/, 'user_error'],
  [/ LOG: {2}(incomplete startup packet|could not receive data from client)/, 'network'],
]

describe('ground truth equals what the text says', () => {
  const { lines, truth } = fullTruth(base)

  it('per server x category and per 5-minute window, counted by grepping the stderr text', () => {
    // stderr does not name the server: generate each server alone and grep it
    for (const server of SAMPLE) {
      const text = [...generateLines({ ...base, servers: [server] })]
      const cats: Partial<Record<Category, number>> = {}
      const windows = new Map<string, number>()
      for (const line of text) {
        const hit = GREP.find(([re]) => re.test(line))
        if (!hit) continue
        cats[hit[1]] = (cats[hit[1]] ?? 0) + 1
        const t = Date.parse(`${line.slice(0, 23).replace(' ', 'T')}Z`)
        const key = `${hit[1]}@${Math.floor(t / 300_000) * 300_000}`
        windows.set(key, (windows.get(key) ?? 0) + 1)
      }
      expect(cats).toEqual(truth.failures[server])
      const expected = new Map(
        truth.windows.filter((w) => w.server === server).map((w) => [`${w.category}@${w.windowStart}`, w.failures]),
      )
      expect(windows).toEqual(expected)
    }
  })

  it('tells the bundled story', () => {
    expect(truth.failures['orders-prod'].firewall_deny).toBeGreaterThan(300)
    expect(truth.failures['orders-prod'].transient).toBeGreaterThan(40)
    expect(truth.failures['billing-flex'].auth_fail).toBeGreaterThan(500)
    expect(truth.failures['billing-flex'].tls_reject).toBeGreaterThan(250)
    expect(truth.failures['analytics-citus'].limit_reached).toBeGreaterThan(700)
    const fw = lines.filter((l) => l.includes('no pg_hba.conf entry'))
    expect(fw.every((l) => l.includes('host "81.2.69.'))).toBe(true)
    expect(new Set(fw.map((l) => l.match(/host "([^"]+)"/)![1])).size).toBeGreaterThan(20)
    expect(truth.totals!.received).toBeGreaterThan(truth.totals!.closed)
  })

  it('the incidents-only truth of generateSample equals the truth counted over the whole log', () => {
    const sample = generateSample(base)
    expect(sample.truth.failures).toEqual(truth.failures)
    expect(sample.truth.reasons).toEqual(truth.reasons)
    expect(sample.truth.windows).toEqual(truth.windows)
    expect(digest(sample.lines)).toBe(digest(lines))
  })
})

// minimal RFC 4180 reader, to check the csv independently of pglog
function csvRecords(text: string): string[][] {
  const out: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\n') {
      row.push(field)
      out.push(row)
      row = []
      field = ''
    } else field += ch
  }
  expect(quoted).toBe(false)
  return out
}

describe('formats are well-formed', () => {
  const opts = { ...base, durationMs: DAY / 8, ratePerSec: 1 }
  const lines = (format: GenFormat) => [...generateLines({ ...opts, format })]

  it('stderr: every line starts with the prefix or is a tab continuation; times never go back', () => {
    let last = 0
    for (const l of lines('stderr')) {
      if (l.startsWith('\t')) continue
      expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\] (\S*@\S* )?[A-Z]+: {2}/)
      const t = Date.parse(`${l.slice(0, 23).replace(' ', 'T')}Z`)
      expect(t).toBeGreaterThanOrEqual(last)
      last = t
    }
  })

  it('csvlog: 26 columns per record, quotes balanced, multi-line fields inside quotes', () => {
    const text = `${lines('csvlog').join('\n')}\n`
    const rows = csvRecords(text)
    expect(rows.length).toBeGreaterThan(1000)
    for (const r of rows) {
      expect(r).toHaveLength(26)
      expect(r[11]).toMatch(/^(LOG|FATAL|ERROR|WARNING)$/)
      expect(r[12]).toMatch(/^[0-9A-Z]{5}$/)
    }
    const withQuote = rows.find((r) => r[13].startsWith('password authentication failed'))
    expect(withQuote?.[13]).toMatch(/user "[^"]+"/)
    expect(rows.some((r) => r[14].includes('\n'))).toBe(true)
  })

  it('jsonlog: one JSON object per line with the PostgreSQL 15 keys', () => {
    for (const l of lines('jsonlog')) {
      const o = JSON.parse(l)
      expect(typeof o.timestamp).toBe('string')
      expect(typeof o.pid).toBe('number')
      expect(o.error_severity).toMatch(/^(LOG|FATAL|ERROR|WARNING)$/)
      expect(typeof o.message).toBe('string')
    }
  })

  it('syslog: RFC 3164 header, host, pid and [line-chunk] on every line', () => {
    for (const l of lines('syslog')) {
      expect(l).toMatch(
        /^[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d (orders-prod|billing-flex|analytics-citus) postgres\[\d+\]: \[\d+-\d+\] (db=|#011)/,
      )
    }
  })
})

describe('generated logs through pglog + classifier reproduce the truth', () => {
  const opts = { ...base, ratePerSec: 0.2 }
  it.each(['stderr', 'csvlog', 'jsonlog', 'syslog'] as const)('%s', (format) => {
    const sample = generateSample({ ...opts, format })
    const got: Record<string, Partial<Record<Category, number>>> = {}
    for (const s of SAMPLE) got[s] = {}
    const c = new Classifier()
    for (const server of SAMPLE) {
      // one parser per server file, as the collector would have
      const records: LogRecord[] = []
      const p = createParser(
        {
          format,
          server,
          prefix: format === 'syslog' ? SYSLOG_PREFIX : format === 'stderr' ? DEFAULT_PREFIX : undefined,
          source: { kind: 'file', name: `${server}.log` },
          syslogYear: 2024,
        },
        {
          record: (r) => records.push(r),
          deadLetter: (d) => expect.fail(`dead letter: ${d.reason}: ${d.raw.slice(0, 200)}`),
        },
      )
      let pos = 0
      const lines = format === 'syslog' ? sample.lines : generateLines({ ...opts, format, servers: [server] })
      for (const line of lines) {
        if (format === 'syslog' && !line.includes(` ${server} postgres[`)) continue
        p.push(line, pos)
        pos += line.length + 1
      }
      p.flush()
      for (const r of records) {
        const ev = c.classify(r)
        if (ev?.outcome === 'failed') got[server][ev.category!] = (got[server][ev.category!] ?? 0) + 1
      }
    }
    expect(got).toEqual(sample.truth.failures)
  })
})

describe('writing files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'connrca-gen-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writeLog writes exactly the generated lines and returns the same truth', async () => {
    const opts = { ...base, durationMs: DAY / 6, ratePerSec: 2, format: 'syslog' as const }
    const file = join(dir, 'all.log')
    const truth = await writeLog(file, opts)
    const text = readFileSync(file, 'utf8')
    expect(text).toBe(`${[...generateLines(opts)].join('\n')}\n`)
    expect(truth.totals!.lines).toBe(text.split('\n').length - 1)
    expect(truth.failures).toEqual(generateSample(opts).truth.failures)
  })

  it('writeLogs writes one file per server', async () => {
    const opts = { ...base, durationMs: DAY / 24, ratePerSec: 1, format: 'csvlog' as const }
    const { files, truth } = await writeLogs(join(dir, 'per-server'), opts)
    expect(files.map((f) => f.slice(dir.length))).toEqual(SAMPLE.map((s) => `/per-server/${s}/postgresql.csv`))
    expect(truth.servers).toEqual(SAMPLE)
    expect(truth.failures).toEqual(generateSample(opts).truth.failures)
  })

  it('rejects an incident whose reason has no template, saying which', () => {
    const bad = {
      ...base,
      incidents: [
        {
          server: 'orders-prod',
          category: 'auth_fail' as const,
          reason: 'nope',
          start,
          durationMs: 60_000,
          perMinute: 1,
        },
      ],
    }
    expect(() => [...generateLines(bad)]).toThrow(/reason "nope" has no message template/)
  })
})
