import { Classifier, type ClassifierSnapshot } from '@connrca/classifier'
import { type Config, type ConnectionEvent, type DeadLetter, type LogRecord, type RcaEvent, toMs } from '@connrca/contracts'
import {
  ClassifyStage,
  deadLetterSink,
  type RunnerStage,
  StageRunner,
  WindowStage,
  type WindowStageState,
} from '@connrca/pipeline'
import { baselineHistory, type HourlyFailureRow, type Store } from '@connrca/store'
import { createInProcessTransport, type Message, type Publisher, type Transport } from '@connrca/transport'

const CHECKPOINT = 'embedded.pipeline'
/** The embedded pipeline is the runner with one partition. */
const PARTITION = 0

export interface Batch {
  records: LogRecord[]
  deadLetters: DeadLetter[]
}

interface EmbeddedState {
  /** Source positions (by source name) exactly covered by the stage state beside them. */
  sources: unknown
  classifier: ClassifierSnapshot
  stages: WindowStageState
}

/**
 * classify → window, checkpointed together with the source positions. Records and connection
 * events are handed on directly (in-process, a topic would only wrap each in a message);
 * dead letters and RCA events go over in-process topics.
 */
class EmbeddedStages implements RunnerStage<Batch, EmbeddedState> {
  sourcesState: () => unknown = () => ({})
  recordsIn = 0
  deadLettersIn = 0

  constructor(
    private readonly deadLetters: Publisher<DeadLetter>,
    readonly classify: ClassifyStage,
    readonly window: WindowStage,
    private readonly listeners: ReadonlyMap<string, (events: ConnectionEvent[]) => Promise<void>>,
  ) {}

  async handle(batches: Batch[]): Promise<void> {
    for (const b of batches) {
      this.recordsIn += b.records.length
      this.deadLettersIn += b.deadLetters.length
      if (b.deadLetters.length) await this.deadLetters.publish(b.deadLetters.map(keyed))
      if (b.records.length === 0) continue
      const events = this.classify.classifyBatch(b.records)
      if (events.length === 0) continue
      await this.window.handle(events)
      for (const listener of this.listeners.values()) await listener(events)
    }
  }

  flush(): Promise<void> {
    return this.window.flush()
  }

  /** Taken between deliveries (the runner serializes), so the positions match the state. */
  snapshot(): EmbeddedState {
    return { sources: this.sourcesState(), classifier: this.classify.snapshot(), stages: this.window.snapshot() }
  }
}

/**
 * The whole pipeline in one process: in-process topics, the same stages and the same
 * StageRunner the services run, with one partition whose offsets count the source deliveries.
 * A checkpoint pairs source positions with the stage state that exactly covers them and is
 * written only after the rows derived from them are in the store.
 */
export class EmbeddedPipeline {
  readonly transport: Transport
  private readonly runner: StageRunner<Batch, EmbeddedState>
  private stages!: EmbeddedStages
  private nextOffset = 0n
  restoredSources: unknown
  private readonly eventListeners = new Map<string, (events: ConnectionEvent[]) => Promise<void>>()

  private constructor(
    readonly config: Config,
    readonly store: Store | undefined,
    fresh: boolean,
    history: HourlyFailureRow[],
  ) {
    const transport = (this.transport = createInProcessTransport())
    this.runner = new StageRunner<Batch, EmbeddedState>({
      label: 'embedded',
      store: fresh ? undefined : store,
      checkpointName: () => CHECKPOINT,
      open: (_p, state) => {
        // After a failure nothing may be fed again (see onFatal), not even from the checkpoint.
        if (this.failure) throw this.failure
        this.restoredSources = state?.sources
        return (this.stages = new EmbeddedStages(
          transport.publisher('deadletter'),
          new ClassifyStage(undefined, state ? Classifier.restore({}, state.classifier) : new Classifier()),
          new WindowStage({
            pipeline: config.pipeline,
            servers: config.servers,
            store: store ?? DISCARD,
            // without a store (analyze --no-store) no connection rows are kept for writing
            storeOutcomes: store ? config.store.storeOutcomes : [],
            rcaOut: transport.publisher('rca'),
            state: state?.stages,
            baselineHistory: history,
          }),
          this.eventListeners,
        ))
      },
      commitEveryBatch: false,
    })
  }

  get classifier(): ClassifyStage {
    return this.stages.classify
  }

  get aggregator(): WindowStage {
    return this.stages.window
  }

  get recordsIn(): number {
    return this.stages.recordsIn
  }

  get deadLettersIn(): number {
    return this.stages.deadLettersIn
  }

  /** Opens the pipeline, resuming from the last checkpoint unless `fresh` (one-shot analysis). */
  static async open(config: Config, store: Store | undefined, opts: { fresh?: boolean } = {}): Promise<EmbeddedPipeline> {
    const fresh = opts.fresh === true || !store
    // Baselines start from the stored history; a checkpoint, when there is one, carries them instead.
    const { baselines, window } = config.pipeline
    const history =
      store && !fresh && baselines.enabled
        ? await baselineHistory(store, { days: baselines.learnDays, windowMs: toMs(window) })
        : []
    const p = new EmbeddedPipeline(config, store, fresh, history)
    await p.runner.open(PARTITION)
    p.nextOffset = p.runner.position(PARTITION) ?? 0n
    await p.transport.subscribe('deadletter', 'store', deadLetterSink(store ?? DISCARD))
    return p
  }

  /** Every connection event, batch by batch, after the windows saw it (summaries, counts). */
  onEvents(group: string, handler: (events: ConnectionEvent[]) => Promise<void>): void {
    if (this.eventListeners.has(group)) throw new Error(`events listener "${group}" already registered`)
    this.eventListeners.set(group, handler)
  }

  onRca(group: string, handler: (events: RcaEvent[]) => Promise<void>): Promise<unknown> {
    return this.transport.subscribe('rca', group, handler)
  }

  /** One source delivery = one offset of the single partition. Returned as is: see commit(). */
  readonly deliver = (batch: Batch): Promise<void> => {
    const offset = this.nextOffset++
    return this.guard(
      this.runner.handle([batch], {
        partition: PARTITION,
        offsets: [offset.toString()],
        firstOffset: offset.toString(),
        nextOffset: (offset + 1n).toString(),
        seek: () => {
          throw new Error('embedded pipeline: offsets are counted in-process and never run ahead')
        },
      }),
    )
  }

  tick(nowMs = Date.now()): Promise<void> {
    return this.guard(
      this.runner.tick(PARTITION, async (s) => {
        await (s as EmbeddedStages).window.tick(nowMs)
        return false
      }),
    )
  }

  /**
   * Commit point: store rows first, then the checkpoint that covers them. `sourcesState` is
   * read inside the runner's queue, between deliveries, so it matches the stage state.
   */
  commit(sourcesState: () => unknown): Promise<void> {
    this.stages.sourcesState = sourcesState
    return this.guard(this.runner.commit(PARTITION))
  }

  /** End of a one-shot input: close all windows and write everything. */
  finish(): Promise<void> {
    return this.guard(
      this.runner.tick(PARTITION, async (s) => {
        await (s as EmbeddedStages).window.finish()
        return false
      }),
    )
  }

  /**
   * Called once when a stage fails (the store stayed unwritable through its retries). The runner
   * dropped the state, which was ahead of the store; in-process, sources cannot be rewound, so
   * the process must stop and a restart resumes from the last checkpoint, which is consistent.
   */
  onFatal: (err: Error) => void = () => {}
  private failure: Error | undefined

  private guard<T>(p: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure)
    p.catch((err: Error) => {
      if (this.failure) return
      this.failure = err
      this.onFatal(err)
    })
    return p
  }

  async close(): Promise<void> {
    await this.transport.close()
  }
}

/** For analysis without a store: every write is dropped. */
const DISCARD = {
  insertConnectionEvents: async () => {},
  insertWindowCounts: async () => {},
  insertRcaEvents: async () => {},
  insertDeadLetters: async () => {},
}

function keyed<T extends { server?: string }>(value: T): Message<T> {
  return { key: value.server ?? '', value }
}
