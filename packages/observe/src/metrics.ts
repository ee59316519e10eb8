/**
 * A tiny Prometheus registry: counters, gauges, histograms, text exposition format 0.0.4.
 * No dependencies. Hot paths bind labels once (`metric.with({...})`) and then only add numbers.
 */

export type Labels = Readonly<Record<string, string | number>>

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Latency buckets in seconds, 1 ms .. 30 s. */
export const DEFAULT_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export interface CounterChild {
  inc(value?: number): void
}
export interface GaugeChild {
  set(value: number): void
  inc(value?: number): void
  dec(value?: number): void
}
export interface HistogramChild {
  observe(value: number): void
  /** Returns a function that observes the seconds elapsed since this call. */
  startTimer(): () => number
}

interface Series<S> {
  labelText: string
  state: S
}

abstract class Metric<S, C> {
  readonly series = new Map<string, Series<S>>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly labelNames: readonly string[],
    private readonly constLabels: Labels,
  ) {
    if (!NAME.test(name)) throw new Error(`metric name "${name}" is not a valid Prometheus name`)
    for (const l of labelNames) if (!LABEL.test(l)) throw new Error(`metric ${name}: label "${l}" is not valid`)
  }

  protected abstract init(): S
  protected abstract child(state: S): C

  /** The series for these label values, created on first use; keep the result on hot paths. */
  with(labels: Labels = {}): C {
    return this.child(this.seriesOf(labels).state)
  }

  protected peek(labels: Labels = {}): S | undefined {
    return this.series.get(this.keyOf(labels))?.state
  }

  private keyOf(labels: Labels): string {
    return this.labelNames.length === 0 ? '' : this.labelNames.map((n) => String(labels[n] ?? '')).join('\u0000')
  }

  private seriesOf(labels: Labels): Series<S> {
    const key = this.keyOf(labels)
    let s = this.series.get(key)
    if (!s) {
      for (const n of Object.keys(labels)) {
        if (!this.labelNames.includes(n)) throw new Error(`metric ${this.name}: unknown label "${n}"`)
      }
      const pairs: string[] = []
      for (const [k, v] of Object.entries(this.constLabels)) pairs.push(`${k}="${escapeLabel(String(v))}"`)
      for (const n of this.labelNames) pairs.push(`${n}="${escapeLabel(String(labels[n] ?? ''))}"`)
      s = { labelText: pairs.join(','), state: this.init() }
      this.series.set(key, s)
    }
    return s
  }

  abstract renderSeries(out: string[]): void
}

export class Counter extends Metric<{ v: number }, CounterChild> {
  protected init() {
    return { v: 0 }
  }
  protected child(s: { v: number }): CounterChild {
    return {
      inc(value = 1) {
        if (value < 0) throw new Error('counters only go up')
        s.v += value
      },
    }
  }
  inc(value = 1, labels?: Labels): void {
    this.with(labels).inc(value)
  }
  /** Current value of one series (tests, health decisions). */
  get(labels?: Labels): number {
    return this.peek(labels)?.v ?? 0
  }
  renderSeries(out: string[]): void {
    for (const s of this.series.values()) out.push(`${this.name}${braces(s.labelText)} ${formatNumber(s.state.v)}`)
  }
}

export class Gauge extends Metric<{ v: number }, GaugeChild> {
  protected init() {
    return { v: 0 }
  }
  protected child(s: { v: number }): GaugeChild {
    return {
      set(value) {
        s.v = value
      },
      inc(value = 1) {
        s.v += value
      },
      dec(value = 1) {
        s.v -= value
      },
    }
  }
  set(value: number, labels?: Labels): void {
    this.with(labels).set(value)
  }
  inc(value = 1, labels?: Labels): void {
    this.with(labels).inc(value)
  }
  dec(value = 1, labels?: Labels): void {
    this.with(labels).dec(value)
  }
  get(labels?: Labels): number {
    return this.peek(labels)?.v ?? 0
  }
  renderSeries(out: string[]): void {
    for (const s of this.series.values()) out.push(`${this.name}${braces(s.labelText)} ${formatNumber(s.state.v)}`)
  }
}

interface HistogramState {
  counts: number[]
  sum: number
  count: number
}

export class Histogram extends Metric<HistogramState, HistogramChild> {
  readonly buckets: readonly number[]

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    constLabels: Labels,
    buckets: readonly number[],
  ) {
    super(name, help, 'histogram', labelNames, constLabels)
    const sorted = [...buckets].sort((a, b) => a - b)
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) {
      throw new Error(`histogram ${name}: buckets must be distinct finite numbers`)
    }
    this.buckets = sorted
  }
  protected init(): HistogramState {
    return { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }
  }
  protected child(s: HistogramState): HistogramChild {
    const buckets = this.buckets
    const observe = (value: number) => {
      // Non-cumulative per bucket; render accumulates. First bucket whose bound admits the value.
      for (let i = 0; i < buckets.length; i++) {
        if (value <= buckets[i]) {
          s.counts[i]++
          break
        }
      }
      s.sum += value
      s.count++
    }
    return {
      observe,
      startTimer() {
        const t0 = process.hrtime.bigint()
        return () => {
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9
          observe(seconds)
          return seconds
        }
      },
    }
  }
  observe(value: number, labels?: Labels): void {
    this.with(labels).observe(value)
  }
  startTimer(labels?: Labels): () => number {
    return this.with(labels).startTimer()
  }
  get(labels?: Labels): { count: number; sum: number } {
    const s = this.peek(labels)
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 }
  }
  renderSeries(out: string[]): void {
    for (const s of this.series.values()) {
      const sep = s.labelText ? ',' : ''
      let cumulative = 0
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += s.state.counts[i]
        out.push(`${this.name}_bucket{${s.labelText}${sep}le="${formatNumber(this.buckets[i])}"} ${cumulative}`)
      }
      out.push(`${this.name}_bucket{${s.labelText}${sep}le="+Inf"} ${s.state.count}`)
      out.push(`${this.name}_sum${braces(s.labelText)} ${formatNumber(s.state.sum)}`)
      out.push(`${this.name}_count${braces(s.labelText)} ${s.state.count}`)
    }
  }
}

export interface MetricsOptions {
  /** Prepended to every metric name, e.g. `connrca_`. */
  prefix?: string
  /** Added to every series, e.g. `{ service: 'classifier' }`. */
  labels?: Labels
  /** Export process_* / nodejs_* basics (memory, uptime, event-loop delay). Default true. */
  process?: boolean
}

type AnyMetric = Counter | Gauge | Histogram

export class Metrics {
  private readonly metrics = new Map<string, AnyMetric>()
  private readonly collectors: (() => void)[] = []
  private readonly prefix: string
  private readonly constLabels: Labels

  constructor(opts: MetricsOptions = {}) {
    this.prefix = opts.prefix ?? ''
    this.constLabels = opts.labels ?? {}
    for (const k of Object.keys(this.constLabels)) {
      if (!LABEL.test(k)) throw new Error(`metrics: label "${k}" is not valid`)
    }
    if (opts.process !== false) this.processMetrics()
  }

  /** Registering an existing name again returns the same metric (modules can declare what they use). */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(
      name,
      'counter',
      () => new Counter(this.prefix + name, help, 'counter', labelNames, this.constLabels),
    )
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(
      name,
      'gauge',
      () => new Gauge(this.prefix + name, help, 'gauge', labelNames, this.constLabels),
    )
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    return this.register(
      name,
      'histogram',
      () => new Histogram(this.prefix + name, help, labelNames, this.constLabels, buckets),
    )
  }

  /** Runs before every render: the place to sample gauges such as consumer lag or buffer size. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn)
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    for (const c of this.collectors) {
      try {
        c()
      } catch {
        // A failing sampler must not take /metrics down; its gauge keeps the previous value.
      }
    }
    const out: string[] = []
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`)
      out.push(`# TYPE ${m.name} ${m.type}`)
      if (m.series.size === 0 && m.labelNames.length === 0) m.with()
      m.renderSeries(out)
    }
    out.push('')
    return out.join('\n')
  }

  private register<M extends AnyMetric>(name: string, type: M['type'], make: () => M): M {
    const existing = this.metrics.get(name)
    if (existing) {
      if (existing.type !== type) throw new Error(`metric ${name} already registered as a ${existing.type}`)
      return existing as M
    }
    const m = make()
    this.metrics.set(name, m)
    return m
  }

  private processMetrics(): void {
    const start = Date.now() / 1000
    // the standard names every Prometheus client exports: never prefixed, so dashboards and alerts
    // written for process_* find them
    const gauge = (name: string, help: string) =>
      this.register(name, 'gauge', () => new Gauge(name, help, 'gauge', [], this.constLabels))
    const startTime = gauge('process_start_time_seconds', 'Start time of the process, seconds since epoch.')
    const rss = gauge('process_resident_memory_bytes', 'Resident memory size in bytes.')
    const heap = gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.')
    const cpu = this.register(
      'process_cpu_seconds_total',
      'counter',
      () => new Counter('process_cpu_seconds_total', 'User and system CPU time spent, seconds.', 'counter', [], this.constLabels),
    )
    startTime.set(start)
    let cpuSeen = 0
    this.onCollect(() => {
      const mem = process.memoryUsage()
      rss.set(mem.rss)
      heap.set(mem.heapUsed)
      const { user, system } = process.cpuUsage()
      const seconds = (user + system) / 1e6
      cpu.inc(Math.max(0, seconds - cpuSeen))
      cpuSeen = Math.max(cpuSeen, seconds)
    })
  }
}

function braces(labelText: string): string {
  return labelText ? `{${labelText}}` : ''
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}
