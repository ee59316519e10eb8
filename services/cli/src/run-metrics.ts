/**
 * /metrics of `connrca run`: the pipeline, not only the API. Counters the stages already keep are
 * sampled at scrape time (onCollect); per-source counts and store writes are counted where they
 * pass through run: the source deliveries and the store's insert methods.
 */
import type { Notifier } from '@connrca/notify'
import { Metrics } from '@connrca/observe'
import type { Store } from '@connrca/store'
import type { Batch, EmbeddedPipeline } from './embedded/pipeline.js'

type Insert = 'insertConnectionEvents' | 'insertWindowCounts' | 'insertRcaEvents' | 'insertDeadLetters'
const TABLES: Record<Insert, string> = {
  insertConnectionEvents: 'connection_events',
  insertWindowCounts: 'window_counts',
  insertRcaEvents: 'rca_events',
  insertDeadLetters: 'dead_letters',
}

export class RunMetrics {
  readonly registry = new Metrics({ prefix: 'connrca_' })
  private readonly records = this.registry.counter('source_records_total', 'Log records read, by source.', ['source'])
  private readonly deadLetters = this.registry.counter(
    'source_dead_letters_total',
    'Input that could not be parsed (kept as dead letters with the reason), by source.',
    ['source'],
  )
  private readonly rows = this.registry.counter('store_rows_written_total', 'Rows written to the store, by table.', ['table'])
  private readonly writeFailures = this.registry.counter(
    'store_write_failures_total',
    'Store writes that failed (each is retried), by table.',
    ['table'],
  )

  /** Counts what one source delivers, then hands it on. */
  deliverFor(source: string, deliver: (b: Batch) => Promise<void>): (b: Batch) => Promise<void> {
    const records = this.records.with({ source })
    const dead = this.deadLetters.with({ source })
    return (b) => {
      records.inc(b.records.length)
      dead.inc(b.deadLetters.length)
      return deliver(b)
    }
  }

  /** The store with its inserts counted (rows on success, failures on error). */
  countingStore(store: Store): Store {
    const wrapped: Store = { ...store }
    for (const [method, table] of Object.entries(TABLES) as [Insert, string][]) {
      const insert = store[method] as (rows: unknown[]) => Promise<void>
      const rows = this.rows.with({ table })
      const failures = this.writeFailures.with({ table })
      ;(wrapped[method] as (rows: unknown[]) => Promise<void>) = async (batch) => {
        try {
          await insert(batch)
          rows.inc(batch.length)
        } catch (err) {
          failures.inc()
          throw err
        }
      }
    }
    return wrapped
  }

  /** Samples the stages' own counters at each scrape. */
  watch(pipeline: EmbeddedPipeline, notifier: Notifier | undefined): void {
    const m = this.registry
    const mirror = (name: string, help: string, value: () => number) => {
      const c = m.counter(name, help)
      let seen = 0
      m.onCollect(() => {
        const v = value()
        if (v > seen) c.inc(v - seen)
        seen = Math.max(seen, v)
      })
    }
    mirror('classifier_records_total', 'Log records the classifier handled.', () => pipeline.classifier.recordsIn)
    mirror('aggregator_events_total', 'Connection events the windows counted.', () => pipeline.aggregator.eventsIn)
    mirror(
      'late_dropped_total',
      'Connection events later than the allowed lateness, not counted in a window.',
      () => pipeline.aggregator.lateDropped,
    )
    mirror('rca_events_total', 'RCA event revisions emitted.', () => pipeline.aggregator.rcaOut)
    const open = m.gauge('incidents_open', 'Incidents currently open.')
    const delay = m.gauge(
      'watermark_delay_seconds',
      'Wall-clock time minus the event-time watermark, by server (how far behind the logs are).',
      ['server'],
    )
    m.onCollect(() => {
      open.set(pipeline.aggregator.openIncidents)
      const now = Date.now()
      for (const [server, wm] of pipeline.aggregator.watermarks())
        if (Number.isFinite(wm)) delay.set(Math.max(0, (now - wm) / 1000), { server })
    })
    if (notifier) {
      mirror('notifications_sent_total', 'Notifications delivered.', () => notifier.stats.sent)
      mirror('notification_attempts_failed_total', 'Delivery attempts that failed (retried).', () => notifier.stats.failedAttempts)
      mirror(
        'notifications_dead_lettered_total',
        'Notifications given up on after their retries, stored as dead letters.',
        () => notifier.stats.deadLettered,
      )
    }
  }

  render(): string {
    return this.registry.render()
  }
}
