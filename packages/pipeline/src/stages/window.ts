import type {
  ConnectionEvent,
  DeadLetter,
  Outcome,
  PipelineConfig,
  RcaEvent,
  ServerInfo,
  WindowCount,
  WindowTallies,
} from '@connrca/contracts'
import { retryWithBackoff } from '@connrca/observe'
import {
  BaselineLearner,
  type BaselineSnapshot,
  EvidenceCollector,
  type HourlyFailures,
  IncidentTracker,
} from '@connrca/rca'
import type { Store } from '@connrca/store'
import type { Message, Publisher } from '@connrca/transport'
import { WindowAggregator, windowOptionsFromConfig } from '@connrca/windowing'
import type { RunnerStage } from '../runner.js'
import { SeenIds, type SeenIdsState } from './seen-ids.js'

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
  /**
   * Count each event id once (Kafka: a classifier that died before committing re-publishes its
   * events). Ids are remembered per server for `allowedLateness + window` behind the newest event.
   */
  dedupeIds?: boolean
  /**
   * History for the baselines (pipeline.baselines) from the store, e.g. `baselineHistory(store, …)`:
   * used only when there is no state to restore (a fresh start); the state carries them after that.
   */
  baselineHistory?: HourlyFailures[]
}

export interface WindowStageState {
  windows: unknown
  incidents: unknown
  seen?: SeenIdsState
  /** Absent in checkpoints written before the diagnosis existed: it starts empty then. */
  evidence?: unknown
  /** Learned baselines (when enabled); absent in older checkpoints: learning starts then. */
  baselines?: BaselineSnapshot
}

/**
 * connections → raw events, windows and RCA events in the store, RCA events on the rca topic.
 * Rows are buffered and written by flush(); the caller decides when a flush is a commit point.
 */
export class WindowStage implements RunnerStage<ConnectionEvent, WindowStageState> {
  private readonly windows: WindowAggregator
  private readonly incidents: IncidentTracker
  /** Sees every event the windows count (not late ones), so a diagnosis made while windowing has it. */
  private readonly evidence: EvidenceCollector
  private readonly baselines: BaselineLearner | undefined
  private events: ConnectionEvent[] = []
  private windowRows: WindowCount[] = []
  private rcaRows: RcaEvent[] = []
  private unpublished: Message<RcaEvent>[] = []
  /** The write in flight; a rejection is fatal for this stage (see WindowStageOptions.writeRetries). */
  private writing: Promise<void> = Promise.resolve()
  private readonly maxBuffered: number
  private readonly keep: ReadonlySet<Outcome> | undefined
  private readonly seen: SeenIds | undefined
  eventsIn = 0
  windowsOut = 0
  rcaOut = 0
  /** Events offered a second time (redelivered), not counted again. */
  duplicates = 0

  constructor(private readonly opts: WindowStageOptions) {
    const windowOptions = windowOptionsFromConfig(opts.pipeline)
    const evidenceOptions = { bucketMs: windowOptions.windowMs }
    this.evidence = opts.state?.evidence
      ? EvidenceCollector.restore(evidenceOptions, opts.state.evidence)
      : new EvidenceCollector(evidenceOptions)
    const b = opts.pipeline.baselines
    if (b?.enabled) {
      const baselineOptions = {
        windowMs: windowOptions.windowMs,
        learnDays: b.learnDays,
        minDays: b.minDays,
        p: b.p,
        floor: opts.pipeline.thresholds,
        revisionsWithinMs: windowOptions.allowedLatenessMs + 2 * windowOptions.windowMs,
      }
      if (opts.state?.baselines) this.baselines = BaselineLearner.restore(baselineOptions, opts.state.baselines)
      else {
        this.baselines = new BaselineLearner(baselineOptions)
        if (!opts.state) this.baselines.seed(opts.baselineHistory ?? [])
      }
    }
    const learner = this.baselines
    const rcaOptions = {
      windowMs: windowOptions.windowMs,
      thresholds: opts.pipeline.thresholds,
      servers: opts.servers,
      evidence: this.evidence,
      ...(learner ? { thresholdFor: learner.threshold.bind(learner) } : {}),
    }
    const onWindow = (w: WindowCount, all: WindowTallies) => {
      this.windowRows.push(w)
      this.windowsOut++
      learner?.observe(w)
      this.incidents.onWindow(w, all)
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
    this.seen = opts.dedupeIds
      ? SeenIds.restore(windowOptions.allowedLatenessMs + windowOptions.windowMs, opts.state?.seen ?? [])
      : undefined
    this.maxBuffered = opts.maxBufferedRows ?? 10_000
    this.keep = opts.storeOutcomes ? new Set(opts.storeOutcomes) : undefined
  }

  get watermark(): number {
    return this.windows.watermark
  }

  get lateDropped(): number {
    return this.windows.lateDropped
  }

  /** Watermark (event time, ms) of each server. */
  watermarks(): Map<string, number> {
    return this.windows.watermarks()
  }

  get openIncidents(): number {
    return this.incidents.openIncidents
  }

  readonly handle = async (batch: ConnectionEvent[]): Promise<void> => {
    const now = Date.now()
    const keep = this.keep
    const seen = this.seen
    for (const e of batch) {
      if (seen?.duplicate(e)) {
        this.duplicates++
        continue
      }
      if (keep === undefined || keep.has(e.outcome)) this.events.push(e)
      if (!this.windows.isLate(e)) this.evidence.observe(e)
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
    const state: WindowStageState = {
      windows: this.windows.snapshot(),
      incidents: this.incidents.snapshot(),
      evidence: this.evidence.snapshot(),
    }
    if (this.baselines) state.baselines = this.baselines.snapshot()
    if (this.seen) {
      this.seen.prune()
      state.seen = this.seen.snapshot()
    }
    return state
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
    // The store dedupes whatever part of the batch did land, so the whole batch is retried.
    await retryWithBackoff(
      async () => {
        if (events.length) await store.insertConnectionEvents(events)
        if (windows.length) await store.insertWindowCounts(windows)
        if (rca.length) await store.insertRcaEvents(rca)
      },
      { minMs: 500, maxMs: 8000, maxAttempts: writeRetries + 1 },
    )
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
