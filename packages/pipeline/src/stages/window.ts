import type {
  ConnectionEvent,
  DeadLetter,
  Outcome,
  PipelineConfig,
  RcaEvent,
  ServerInfo,
  WindowCount,
} from '@connrca/contracts'
import { IncidentTracker } from '@connrca/rca'
import type { Store } from '@connrca/store'
import type { Message, Publisher } from '@connrca/transport'
import { WindowAggregator, windowOptionsFromConfig } from '@connrca/windowing'

export interface WindowStageOptions {
  pipeline: PipelineConfig
  servers: ServerInfo[]
  store: Pick<Store, 'insertConnectionEvents' | 'insertWindowCounts' | 'insertRcaEvents'>
  rcaOut: Publisher<RcaEvent>
  /** Rows buffered before handle() writes them itself (backpressure). Default 10 000: larger
   * inserts were not faster into chDB and cost ~120 MB more peak RSS per 1 M lines. */
  maxBufferedRows?: number
  /**
   * Attempts per write before the stage gives up (default 5, backing off up to 8 s). After that
   * its in-memory state is ahead of the store: the process must stop and resume from its last
   * checkpoint, never retry the same input into this instance.
   */
  writeRetries?: number
  /** Outcomes whose events are stored row by row (default: all). */
  storeOutcomes?: readonly Outcome[]
  /** State from a previous snapshot(): restarts continue the same windows and incidents. */
  state?: WindowStageState
}

export interface WindowStageState {
  windows: unknown
  incidents: unknown
}

/**
 * connections → raw events, windows and RCA events in the store, RCA events on the rca topic.
 * Rows are buffered and written by flush(); the caller decides when a flush is a commit point.
 */
export class WindowStage {
  private readonly windows: WindowAggregator
  private readonly incidents: IncidentTracker
  private events: ConnectionEvent[] = []
  private windowRows: WindowCount[] = []
  private rcaRows: RcaEvent[] = []
  private unpublished: Message<RcaEvent>[] = []
  /** The write in flight; a rejection is fatal for this stage (see WindowStageOptions.writeRetries). */
  private writing: Promise<void> = Promise.resolve()
  private readonly maxBuffered: number
  private readonly keep: ReadonlySet<Outcome> | undefined
  eventsIn = 0
  windowsOut = 0
  rcaOut = 0

  constructor(private readonly opts: WindowStageOptions) {
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
    this.maxBuffered = opts.maxBufferedRows ?? 10_000
    this.keep = opts.storeOutcomes ? new Set(opts.storeOutcomes) : undefined
  }

  get watermark(): number {
    return this.windows.watermark
  }

  get lateDropped(): number {
    return this.windows.lateDropped
  }

  readonly handle = async (batch: ConnectionEvent[]): Promise<void> => {
    const now = Date.now()
    const keep = this.keep
    for (const e of batch) {
      if (keep === undefined || keep.has(e.outcome)) this.events.push(e)
      this.windows.add(e, now)
    }
    this.eventsIn += batch.length
    this.incidents.onWatermark(this.windows.watermarks())
    await this.publish()
    if (this.events.length >= this.maxBuffered) {
      await this.writing
      this.startWrite()
    }
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

  snapshot(): WindowStageState {
    return { windows: this.windows.snapshot(), incidents: this.incidents.snapshot() }
  }

  /**
   * Writes everything buffered and waits until it is stored: a commit point. Idempotent in the
   * store, so a replay after a crash double counts nothing.
   */
  async flush(): Promise<void> {
    this.startWrite()
    await this.writing
  }

  /**
   * Hands the buffered rows to the store without waiting: the store inserts on its own threads
   * while parsing goes on here. One write in flight at a time keeps memory bounded and keeps
   * raw events ahead of the windows and incidents derived from them.
   */
  private startWrite(): void {
    const events = this.events
    const windows = this.windowRows
    const rca = this.rcaRows
    if (events.length === 0 && windows.length === 0 && rca.length === 0) return
    this.events = []
    this.windowRows = []
    this.rcaRows = []
    this.writing = this.writing.then(() => this.write(events, windows, rca))
  }

  private async write(events: ConnectionEvent[], windows: WindowCount[], rca: RcaEvent[]): Promise<void> {
    const { store, writeRetries = 5 } = this.opts
    for (let attempt = 0; ; attempt++) {
      try {
        if (events.length) await store.insertConnectionEvents(events)
        if (windows.length) await store.insertWindowCounts(windows)
        if (rca.length) await store.insertRcaEvents(rca)
        return
      } catch (err) {
        // The store dedupes whatever part of the batch did land, so the whole batch is retried.
        if (attempt >= writeRetries) throw err
        await new Promise((r) => setTimeout(r, Math.min(8000, 500 * 2 ** attempt)))
      }
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
