import { describe, expect, it } from 'vitest'
import { Metrics } from '../src/index.js'

describe('Metrics', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const m = new Metrics({ prefix: 'connrca_', labels: { service: 'classifier' }, process: false })
    const records = m.counter('records_in_total', 'Records consumed.', ['topic'])
    records.inc(3, { topic: 'logs' })
    records.with({ topic: 'logs' }).inc()
    records.inc(1, { topic: 'rca' })
    m.gauge('lag', 'Consumer lag.').set(42)
    const h = m.histogram('batch_seconds', 'Batch latency.', [], [0.1, 1])
    h.observe(0.05)
    h.observe(0.5)
    h.observe(5)
    const text = m.render()
    expect(text).toContain('# HELP connrca_records_in_total Records consumed.\n# TYPE connrca_records_in_total counter')
    expect(text).toContain('connrca_records_in_total{service="classifier",topic="logs"} 4\n')
    expect(text).toContain('connrca_records_in_total{service="classifier",topic="rca"} 1\n')
    expect(text).toContain('connrca_lag{service="classifier"} 42\n')
    expect(text).toContain('connrca_batch_seconds_bucket{service="classifier",le="0.1"} 1\n')
    expect(text).toContain('connrca_batch_seconds_bucket{service="classifier",le="1"} 2\n')
    expect(text).toContain('connrca_batch_seconds_bucket{service="classifier",le="+Inf"} 3\n')
    expect(text).toContain('connrca_batch_seconds_sum{service="classifier"} 5.55\n')
    expect(text).toContain('connrca_batch_seconds_count{service="classifier"} 3\n')
    expect(records.get({ topic: 'logs' })).toBe(4)
    expect(h.get()).toEqual({ count: 3, sum: 5.55 })
  })

  it('escapes label values and help text', () => {
    const m = new Metrics({ process: false })
    m.counter('errors_total', 'Errors\nby "kind".', ['kind']).inc(1, { kind: 'a"b\\c\nd' })
    const text = m.render()
    expect(text).toContain('# HELP errors_total Errors\\nby "kind".')
    expect(text).toContain('errors_total{kind="a\\"b\\\\c\\nd"} 1')
  })

  it('returns the same metric for the same name and rejects a type clash or bad names', () => {
    const m = new Metrics({ process: false })
    expect(m.counter('x_total', 'x')).toBe(m.counter('x_total', 'x'))
    expect(() => m.gauge('x_total', 'x')).toThrow(/already registered as a counter/)
    expect(() => m.counter('bad-name', 'x')).toThrow(/not a valid Prometheus name/)
    expect(() => m.counter('y_total', 'y', ['a']).inc(1, { b: 'x' })).toThrow(/unknown label "b"/)
    expect(() => m.counter('z_total', 'z').inc(-1)).toThrow(/only go up/)
  })

  it('runs collectors before rendering and survives a failing one', () => {
    const m = new Metrics({ process: true })
    let lag = 0
    const g = m.gauge('consumer_lag', 'Lag.')
    m.onCollect(() => {
      throw new Error('broker gone')
    })
    m.onCollect(() => g.set(++lag))
    expect(m.render()).toContain('consumer_lag 1\n')
    expect(m.render()).toContain('consumer_lag 2\n')
    expect(m.render()).toMatch(/process_resident_memory_bytes \d+/)
  })

  it('exports the standard process_* names unprefixed, whatever the registry prefix', () => {
    const text = new Metrics({ prefix: 'connrca_' }).render()
    for (const name of ['process_start_time_seconds', 'process_resident_memory_bytes', 'process_cpu_seconds_total'])
      expect(text).toMatch(new RegExp(`^${name} [\\d.e+]+$`, 'm'))
    expect(text).not.toContain('connrca_process_')
  })
})
