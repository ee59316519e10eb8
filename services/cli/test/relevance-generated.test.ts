import { Classifier, mayClassify } from '@connrca/classifier'
import type { ConnectionEvent, DeadLetter } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PREFIX, type GenFormat, generateLines, SYSLOG_PREFIX } from '../src/generate/index.js'

// A generated day of the sample's three servers (every injected incident, statements with
// multi-line continuations, checkpoints) classified with and without the parsers' relevance
// filter: the connection events and dead letters must be the same, whole.
const opts = {
  servers: ['orders-prod', 'billing-flex', 'analytics-citus'],
  start: Date.UTC(2024, 4, 1),
  durationMs: 86_400_000,
  ratePerSec: 0.3,
  incidents: 'default' as const,
  seed: 11,
}

function classify(lines: string[], format: GenFormat, filter: boolean) {
  const c = new Classifier()
  const events: ConnectionEvent[] = []
  const dead: Omit<DeadLetter, 'time'>[] = []
  let built = 0
  const p = createParser(
    {
      format,
      prefix: format === 'syslog' ? SYSLOG_PREFIX : format === 'stderr' ? DEFAULT_PREFIX : undefined,
      source: { kind: 'file', name: 'gen.log' },
      syslogYear: 2024,
      relevant: filter ? mayClassify : undefined,
    },
    {
      record: (r) => {
        built++
        const ev = c.classify(r)
        if (ev) events.push(ev)
      },
      deadLetter: ({ time: _, ...d }) => dead.push(d),
    },
  )
  let pos = 0
  for (const line of lines) {
    p.push(line, pos)
    pos += line.length + 1
  }
  p.flush()
  return { events, dead, built, irrelevant: p.irrelevant }
}

describe('relevance filter on generated logs', () => {
  it.each(['stderr', 'csvlog', 'jsonlog', 'syslog'] as const)('%s: same events and dead letters', (format) => {
    const lines = [...generateLines({ ...opts, format })]
    const all = classify(lines, format, false)
    const some = classify(lines, format, true)
    expect(all.events.length).toBeGreaterThan(1000)
    expect(some.events).toEqual(all.events)
    expect(some.dead).toEqual(all.dead)
    // most records of a realistic log cannot matter; they are counted, not built
    expect(some.built + some.irrelevant).toBe(all.built)
    expect(some.irrelevant).toBeGreaterThan(all.built / 3)
  })
})
