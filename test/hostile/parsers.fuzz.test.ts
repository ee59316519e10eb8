// Hostile input through every PostgreSQL log parser: random text and bytes, corrupted real-looking
// lines, broken CSV quoting, JSON of the wrong shape, megabyte lines, every log_line_prefix escape.
// Each case must finish quickly, throw nothing, and account for every line (record or dead letter).

import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Classifier } from '@connrca/classifier'
import { ConnectionEvent, type LogFormat } from '@connrca/contracts'
import { compilePrefix, createParser } from '@connrca/pglog'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ALL_SEEDS, type Emitted, FORMATS, runParser, SEEDS, toLines, violations } from './support.js'

/** Budget for one small fuzz case (tens of lines) on a busy 2-core machine. */
const CASE_MS = 1_000
/** Budget for one case holding a megabyte line. */
const BIG_MS = 3_000
const MB = 1024 * 1024

const classifier = new Classifier()

/** Runs `lines` through `format` and returns every problem found (empty when the case is fine). */
function problems(format: LogFormat, lines: readonly string[], budgetMs = CASE_MS, opts = {}): string[] {
  const e: Emitted = runParser(format, lines, opts)
  const v = violations(format, lines, e)
  if (e.elapsedMs > budgetMs) v.push(`took ${e.elapsedMs.toFixed(0)} ms for ${lines.length} lines (budget ${budgetMs})`)
  for (const r of e.records) {
    try {
      const ev = classifier.classify(r)
      if (ev !== undefined) {
        const ok = ConnectionEvent.safeParse(ev)
        if (!ok.success)
          v.push(
            `classifier output fails its schema at ${ok.error.issues[0]?.path.join('.')}: ${ok.error.issues[0]?.message}`,
          )
      }
    } catch (err) {
      v.push(`classifier threw on ${JSON.stringify(r).slice(0, 200)}: ${(err as Error).stack}`)
    }
  }
  return v
}

function expectClean(format: LogFormat, lines: readonly string[], budgetMs?: number, opts = {}): void {
  const v = problems(format, lines, budgetMs, opts)
  if (v.length > 0) throw new Error(`${format}: ${v.join('\n')}`)
}

// ---- arbitraries -------------------------------------------------------------------------------

const NASTY = [
  '\0',
  '\r',
  '\t',
  '"',
  '""',
  ',',
  ':',
  '[',
  ']',
  '{',
  '}',
  ' ',
  '%',
  '\\',
  '\u2028',
  '\ufeff',
  '\ud800',
  '#011',
  'FATAL:  ',
  'DETAIL:  ',
  '\uFFFD',
]

/** Characters parsers branch on, in dense soup. */
const soup = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 3 })), { maxLength: 60 })
  .map((a) => a.join(''))

/** A realistic line cut short, with hostile text spliced in at a random place. */
const mutatedSeed = fc
  .record({
    seed: fc.constantFrom(...ALL_SEEDS),
    at: fc.nat(),
    cut: fc.nat(),
    ins: fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 8 })),
    keepTail: fc.boolean(),
  })
  .map(({ seed, at, cut, ins, keepTail }) => {
    const a = at % (seed.length + 1)
    const tail = keepTail ? seed.slice(Math.min(seed.length, a + (cut % 4))) : ''
    return seed.slice(0, a) + ins + tail
  })

const anyLine = fc.oneof(
  { weight: 3, arbitrary: mutatedSeed },
  { weight: 2, arbitrary: fc.constantFrom(...ALL_SEEDS) },
  { weight: 2, arbitrary: soup },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constant('') },
)

const anyLines = fc.array(anyLine, { maxLength: 40 })

/** JSON of every shape, and real objects with fields swapped for values of the wrong type. */
const wrongTypedJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc
    .record({
      seed: fc.constantFrom(...SEEDS.jsonlog, ...SEEDS.azure),
      swaps: fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })), { maxLength: 4 }),
    })
    .map(({ seed, swaps }) => {
      const o = JSON.parse(seed) as Record<string, unknown>
      const keys = Object.keys(o)
      for (const [k, v] of swaps) o[keys[k % keys.length]] = v
      return JSON.stringify(o)
    }),
  fc
    .record({
      key: fc.constantFrom(
        'pid',
        'remote_port',
        'process_id',
        'processId_d',
        'ProcessId',
        'timestamp',
        'TimeGenerated',
      ),
      v: fc.constantFrom(
        '1e999',
        '-1e999',
        '1.5',
        '-0',
        '"NaN"',
        '"Infinity"',
        '9007199254740993',
        'true',
        '[]',
        '{}',
        'null',
      ),
    })
    .map(({ key, v }) => SEEDS.jsonlog[1].replace(/^\{/, `{"${key}":${v},`)),
)

/** CSV records whose quoting is broken and whose quoted fields run over several lines. */
const brokenCsv = fc.array(
  fc.oneof(
    fc.constantFrom(...SEEDS.csvlog),
    mutatedSeed,
    fc.constantFrom('"', '""', '"a', 'a"', '","', ',,,,,', '"unterminated, field', 'tail" , more'),
    fc.record({ s: fc.constantFrom(...SEEDS.csvlog), at: fc.nat() }).map(({ s, at }) => {
      const i = at % s.length
      return `${s.slice(0, i)}"${s.slice(i)}` // one stray quote
    }),
  ),
  { maxLength: 40 },
)

const fcOpts = (numRuns: number) => ({ numRuns, endOnFailure: true, interruptAfterTimeLimit: 6_000 })

// ---- properties --------------------------------------------------------------------------------

describe('parsers under random and corrupted lines', () => {
  for (const format of FORMATS) {
    it(`${format}: lines account, no throw, bounded time`, { timeout: 20_000 }, () => {
      fc.assert(
        fc.property(anyLines, (lines) => {
          expectClean(format, lines)
        }),
        fcOpts(120),
      )
    })
  }

  it('random bytes decoded as latin1 and as UTF-8 (with replacement characters)', { timeout: 20_000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.constantFrom(...FORMATS), (bytes, format) => {
        const buf = Buffer.from(bytes)
        expectClean(format, toLines(buf.toString('latin1')))
        expectClean(format, toLines(buf.toString('utf8')))
      }),
      fcOpts(150),
    )
  })

  it('real lines with bytes flipped, then decoded as UTF-8', { timeout: 20_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...ALL_SEEDS), { minLength: 1, maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.constantFrom(...FORMATS),
        (seeds, flips, format) => {
          const buf = Buffer.from(seeds.join('\n'))
          for (const [at, b] of flips) buf[at % buf.length] = b
          expectClean(format, toLines(buf.toString('utf8')))
        },
      ),
      fcOpts(150),
    )
  })

  it('JSON with wrong types and shapes (jsonlog, azure, auto)', { timeout: 20_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(wrongTypedJson, { maxLength: 25 }),
        fc.constantFrom<LogFormat>('jsonlog', 'azure', 'auto'),
        (lines, format) => {
          expectClean(format, lines)
        },
      ),
      fcOpts(200),
    )
  })

  it('CSV with broken quoting spanning lines (csvlog, auto)', { timeout: 20_000 }, () => {
    fc.assert(
      fc.property(brokenCsv, fc.constantFrom<LogFormat>('csvlog', 'auto'), (lines, format) => {
        expectClean(format, lines)
      }),
      fcOpts(200),
    )
  })

  it('every record a well-formed csvlog line yields is exactly one output per line', () => {
    // sanity of the accounting itself: clean input is all records, nothing dead
    const e = runParser('csvlog', SEEDS.csvlog)
    expect(e.threw).toBeUndefined()
    expect(e.dead).toEqual([])
    expect(e.records).toHaveLength(3) // the last seed line closes the quoted field of the third
    expect(violations('csvlog', SEEDS.csvlog, e)).toEqual([])
  })
})

describe('deeply nested JSON', () => {
  const depth = 200_000
  const nested = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`
  const nestedMsg = `{"message":"x","errorLevel_s":"LOG","b":${'{"c":'.repeat(depth)}1${'}'.repeat(depth)}}`
  for (const format of FORMATS) {
    it(`${format}: no stack overflow escapes`, { timeout: 20_000 }, () => {
      expectClean(format, [nested, nestedMsg, SEEDS.jsonlog[1]], BIG_MS)
    })
  }
})

describe('megabyte lines', () => {
  const big = (fill: string) => fill.repeat(Math.ceil(MB / fill.length)).slice(0, MB)
  const cases: Record<string, string[]> = {
    'plain text': [big('a')],
    'NUL bytes': [big('\0')],
    tabs: [SEEDS.stderr[1], big('\t')],
    'colons and severities': [big('ERROR:'), `[${big('A:')}`],
    'prefix then huge message': [`${SEEDS.stderr[0]} ${big('x')}`, SEEDS.stderr[1]],
    'huge free-text prefix field': [`2024-05-01 10:02:03.123 UTC [4242] ${big('u')}@db FATAL:  x`],
    'huge pid digits': [`2024-05-01 10:02:03.123 UTC [${big('9')}] LOG:  x`],
    'open CSV quote then a megabyte': [`2024-05-01 10:02:03.123 UTC,"${big('y')}`, big('z'), SEEDS.csvlog[0]],
    'JSON string of a megabyte': [
      `{"timestamp":"2024-05-01 10:02:03 UTC","error_severity":"LOG","message":"${big('m')}"}`,
    ],
    'azure message of a megabyte': [
      `{"TimeGenerated":"2024-05-01T10:02:03Z","errorLevel_s":"LOG","Message":"${big('m')}"}`,
    ],
    'syslog header then a megabyte': [`May  1 10:02:03 db1 postgres[1]: [1-1] ${big('s')}`, `<1>1 ${big('-')}`],
  }
  for (const [name, lines] of Object.entries(cases)) {
    it(`${name}: every format copes within ${BIG_MS} ms`, { timeout: 30_000 }, () => {
      for (const format of FORMATS) expectClean(format, lines, BIG_MS)
    })
  }
})

// ---- log_line_prefix escapes -------------------------------------------------------------------

const ESCAPES = [
  '%m',
  '%t',
  '%n',
  '%p',
  '%c',
  '%l',
  '%u',
  '%d',
  '%a',
  '%r',
  '%h',
  '%e',
  '%s',
  '%v',
  '%x',
  '%q',
  '%%',
  '%b',
  '%Q',
  '%i',
  '%P',
  '%L',
]
const UNKNOWN = ['%z', '%Z', '%', '%-', '%10', '%-5', '%é', '%\0', '%\ud83d']

describe('compilePrefix with every escape', () => {
  it('each documented escape alone, padded, and between literals compiles', () => {
    for (const e of ESCAPES) {
      for (const p of [e, `${e} `, `[${e}] `, e === '%%' ? '%%' : `%-10${e.slice(1)} `, `${e}:${e}:`]) {
        const m = compilePrefix(p)
        expect(m.prefix).toBe(p)
      }
    }
  })

  it('unknown or dangling escapes throw one clear Error line naming the prefix', () => {
    for (const e of UNKNOWN) {
      const p = `%m [%p] ${e}`
      let err: unknown
      try {
        compilePrefix(p)
      } catch (x) {
        err = x
      }
      expect(err, p).toBeInstanceOf(Error)
      expect((err as Error).constructor).toBe(Error) // not a TypeError / RangeError from a crash
      expect((err as Error).message).toContain('log_line_prefix')
      expect((err as Error).message).not.toContain('\n')
    }
  })

  it('random prefixes: either a working matcher or a plain Error, and the parser copes with any line', {
    timeout: 20_000,
  }, () => {
    const token = fc.oneof(
      fc.constantFrom(...ESCAPES, ...UNKNOWN),
      fc.constantFrom(' ', '[', ']', '-', ':', '@', ',', '=', '(', ')', 'user=', 'db='),
      fc.string({ maxLength: 3 }),
    )
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), fc.array(anyLine, { maxLength: 15 }), (parts, lines) => {
        const prefix = parts.join('')
        let compiled = true
        try {
          compilePrefix(prefix)
        } catch (err) {
          compiled = false
          if (!(err instanceof Error) || err.constructor !== Error)
            throw new Error(`'${prefix}': ${String(err)} is not a plain Error`)
          if (!err.message.includes('log_line_prefix') || err.message.includes('\n'))
            throw new Error(`'${prefix}': unclear message ${JSON.stringify(err.message)}`)
        }
        if (!compiled) return
        for (const format of ['stderr', 'syslog'] as const) {
          // lines built with this very prefix shape too, so matching paths run, not only rejection
          const own = lines.map((l) => `${prefix.replace(/%./g, '1')}LOG:  ${l}`)
          expectClean(format, [...lines, ...own], CASE_MS, { prefix })
        }
      }),
      fcOpts(250),
    )
  })

  it('createParser with a bad configured prefix fails up front with the same clear Error', () => {
    expect(() =>
      createParser(
        { format: 'stderr', prefix: '%m %Y', source: { kind: 'file', name: 'x' } },
        { record() {}, deadLetter() {} },
      ),
    ).toThrowError(/log_line_prefix '%m %Y': unknown escape '%Y'/)
  })
})

// ---- memory ------------------------------------------------------------------------------------

describe('memory stays bounded', () => {
  const gc = exposeGc()
  const lines = fc.sample(anyLine, { numRuns: 20_000, seed: 20240501 })
  const pad = 'p'.repeat(12_288)
  // ~165 MB of input per format; whatever the parser keeps must stay far below that
  // flat copies: a concatenation is a rope that V8 flattens on first read, which would show up as
  // "retained" memory of the input array rather than of the parser
  const padded = lines.map((l, i) => JSON.parse(JSON.stringify(i % 3 === 0 ? l : l + pad)) as string)
  for (const format of FORMATS) {
    it(`${format}: 20k random lines (~165 MB) leave < 100 MB retained before flush`, { timeout: 30_000 }, () => {
      let records = 0
      let dead = 0
      const p = createParser(
        { format, source: { kind: 'file', name: 'mem.log' }, server: 'fuzz' },
        { record: () => void records++, deadLetter: () => void dead++ },
      )
      gc()
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < padded.length; i++) p.push(padded[i], i)
      gc()
      const retained = process.memoryUsage().heapUsed - before
      p.flush()
      expect(records + dead).toBeGreaterThan(1000)
      console.log(`${format}: retained ${(retained / MB).toFixed(1)} MB after 20k lines`)
      expect(retained / MB).toBeLessThan(100)
    })
  }
})

function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
