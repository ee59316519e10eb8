import type {
  ConnectionEvent,
  DeadLetter,
  PipelineConfig,
  RcaEvent,
  ServerInfo,
  WindowCount,
} from '@connrca/contracts'
import { IncidentTracker } from '@connrca/rca'
import type { Store } from '@connrca/store'
import type { Message, Publisher } from '@connrca/transport'
import { WindowAggregator, windowOptionsFromConfig } from '@connrca/windowing'

export interface AggregatorStageOptions {
  pipeline: PipelineConfig
  servers: ServerInfo[]
  store: Pick<Store, 'insertConnectionEvents' | 'insertWindowCounts' | 'insertRcaEvents'>
  rcaOut: Publisher<RcaEvent>
  /** Rows buffered before handle() writes them itself (backpressure). */
  maxBufferedRows?: number
  /** State from a previous snapshot(): restarts continue the same windows and incidents. */
  state?: AggregatorState
}

export interface AggregatorState {
  windows: unknown
  incidents: unknown
}

/**
 * connections → raw events, windows and RCA events in the store, RCA events on the rca topic.
 * Rows are buffered and written by flush(); the caller decides when a flush is a commit point.
 */
export class AggregatorStage {
  private readonly windows: WindowAggregator
  private readonly incidents: IncidentTracker
  private events: ConnectionEvent[] = []
  private windowRows: WindowCount[] = []
  private rcaRows: RcaEvent[] = []
  private unpublished: Message<RcaEvent>[] = []
  private readonly maxBuffered: number
  eventsIn = 0
  windowsOut = 0
  rcaOut = 0

  constructor(private readonly opts: AggregatorStageOptions) {
    const windowOptions = windowOptionsFromConfig(opts.pipeline)
    const rcaOptions = {
      windowMs: windowOptions.windowMs,
      thresholds: opts.pipeline.thresholds,
      servers: opts.servers,
    }
    const onWindow = (w: WindowCount) => {
      this.windowRows.push(w)
      this.windowsOut++
      this.incidents.onWindow(w)
    }
    const onRca = (e: RcaEvent) => {
      this.rcaRows.push(e)
      this.unpublished.push({ key: e.server, value: e })
      this.rcaOut++
    }
    // The tracker must exist before the aggregator can emit into it.
    this.incidents = opts.state
      ? IncidentTracker.restore(rcaOptions, onRca, opts.state.incidents)
      : new IncidentTracker(rcaOptions, onRca)
    this.windows = opts.state
      ? WindowAggregator.restore(windowOptions, onWindow, opts.state.windows)
      : new WindowAggregator(windowOptions, onWindow)
    this.maxBuffered = opts.maxBufferedRows ?? 50_000
  }

  get watermark(): number {
    return this.windows.watermark
  }

  get lateDropped(): number {
    return this.windows.lateDropped
  }

  readonly handle = async (batch: ConnectionEvent[]): Promise<void> => {
    const now = Date.now()
    for (const e of batch) {
      this.events.push(e)
      this.windows.add(e, now)
    }
    this.eventsIn += batch.length
    this.incidents.onWatermark(this.windows.watermarks())
    await this.publish()
    if (this.events.length >= this.maxBuffered) await this.flush()
  }

  /** Processing-time tick: lets the idle timeout close windows when logs stop. */
  async tick(nowMs: number): Promise<void> {
    this.windows.tick(nowMs)
    this.incidents.onWatermark(this.windows.watermarks())
    await this.publish()
  }

  /** End of input (one-shot analysis): close every window, report incidents as they stand. */
  async finish(): Promise<void> {
    this.windows.flushAll()
    this.incidents.flushAll(this.windows.watermarks())
    await this.publish()
    await this.flush()
  }

  snapshot(): AggregatorState {
    return { windows: this.windows.snapshot(), incidents: this.incidents.snapshot() }
  }

  /** Writes everything buffered. Idempotent in the store: a replay after a crash double counts nothing. */
  async flush(): Promise<void> {
    const events = this.events
    const windows = this.windowRows
    const rca = this.rcaRows
    this.events = []
    this.windowRows = []
    this.rcaRows = []
    try {
      if (events.length) await this.opts.store.insertConnectionEvents(events)
      if (windows.length) await this.opts.store.insertWindowCounts(windows)
      if (rca.length) await this.opts.store.insertRcaEvents(rca)
    } catch (err) {
      // Put the rows back so a retry writes them; the store dedupes what did land.
      this.events = events.concat(this.events)
      this.windowRows = windows.concat(this.windowRows)
      this.rcaRows = rca.concat(this.rcaRows)
      throw err
    }
  }

  private async publish(): Promise<void> {
    if (this.unpublished.length === 0) return
    const batch = this.unpublished
    this.unpublished = []
    await this.opts.rcaOut.publish(batch)
  }
}

/** Dead letters from every stage land in one table. */
export function deadLetterSink(store: Pick<Store, 'insertDeadLetters'>) {
  return async (batch: DeadLetter[]) => {
    if (batch.length) await store.insertDeadLetters(batch)
  }
}
