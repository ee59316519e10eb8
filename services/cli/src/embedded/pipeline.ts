import type { Config, DeadLetter, LogRecord, RcaEvent } from '@connrca/contracts'
import { WindowStage, type WindowStageState, deadLetterSink } from '@connrca/pipeline'
import { Classifier, type ClassifierSnapshot } from '@connrca/classifier'
import { ClassifyStage } from '@connrca/pipeline'
import { getCheckpoint, putCheckpoint, type Store } from '@connrca/store'
import { createInProcessTransport, type Message, type Transport } from '@connrca/transport'

const CHECKPOINT = 'embedded.pipeline'

export interface Batch {
  records: LogRecord[]
  deadLetters: DeadLetter[]
}

interface PipelineCheckpoint {
  sources: unknown
  stages: WindowStageState
  /** Absent in checkpoints written before the classifier's memory was saved. */
  classifier?: ClassifierSnapshot
}

/**
 * The whole pipeline in one process: in-process topics, the same stages the services run.
 * Consistency rule: a checkpoint pairs source positions with the stage state that exactly
 * covers them, and is written only after the rows derived from them are in the store.
 */
export class EmbeddedPipeline {
  readonly transport: Transport
  readonly classifier: ClassifyStage
  readonly aggregator: WindowStage
  private readonly logs
  private readonly deadLetters
  recordsIn = 0
  deadLettersIn = 0

  private constructor(
    readonly config: Config,
    readonly store: Store | undefined,
    readonly restoredSources: unknown,
    cp: PipelineCheckpoint | undefined,
  ) {
    this.transport = createInProcessTransport()
    this.logs = this.transport.publisher('logs')
    this.deadLetters = this.transport.publisher('deadletter')
    this.classifier = new ClassifyStage(
      this.transport.publisher('connections'),
      cp?.classifier ? Classifier.restore({}, cp.classifier) : new Classifier(),
    )
    this.aggregator = new WindowStage({
      pipeline: config.pipeline,
      servers: config.servers,
      store: store ?? DISCARD,
      storeOutcomes: config.store.storeOutcomes,
      rcaOut: this.transport.publisher('rca'),
      state: cp?.stages,
    })
  }

  /** Opens the pipeline, resuming from the last checkpoint unless `fresh`. */
  static async open(config: Config, store: Store | undefined, opts: { fresh?: boolean } = {}): Promise<EmbeddedPipeline> {
    const saved = opts.fresh || !store ? undefined : await getCheckpoint(store, CHECKPOINT)
    const cp = saved ? (JSON.parse(saved) as PipelineCheckpoint) : undefined
    const p = new EmbeddedPipeline(config, store, cp?.sources, cp)
    await p.transport.subscribe('logs', 'classifier', p.classifier.handle)
    await p.transport.subscribe('connections', 'aggregator', p.aggregator.handle)
    await p.transport.subscribe('deadletter', 'store', deadLetterSink(store ?? DISCARD))
    return p
  }

  onRca(group: string, handler: (events: RcaEvent[]) => Promise<void>): Promise<unknown> {
    return this.transport.subscribe('rca', group, handler)
  }

  readonly deliver = (batch: Batch): Promise<void> =>
    this.serial(async () => {
      this.recordsIn += batch.records.length
      this.deadLettersIn += batch.deadLetters.length
      if (batch.deadLetters.length) await this.deadLetters.publish(batch.deadLetters.map(keyed))
      await this.logs.publish(batch.records.map(keyed))
    })

  tick(nowMs = Date.now()): Promise<void> {
    return this.serial(() => this.aggregator.tick(nowMs))
  }

  /**
   * Commit point: store rows first, then the checkpoint that covers them. `sourcesState` is
   * read between deliveries, so it matches the stage state captured with it.
   */
  commit(sourcesState: () => unknown): Promise<void> {
    return this.serial(async () => {
      const cp: PipelineCheckpoint = {
        sources: sourcesState(),
        stages: this.aggregator.snapshot(),
        classifier: this.classifier.classifier.snapshot(),
      }
      await this.aggregator.flush()
      if (this.store) await putCheckpoint(this.store, CHECKPOINT, JSON.stringify(cp))
    })
  }

  /** End of a one-shot input: close all windows and write everything. */
  finish(): Promise<void> {
    return this.serial(() => this.aggregator.finish())
  }

  /**
   * Called once when a stage fails (the store stayed unwritable through its retries). The stages'
   * memory is then ahead of the store, so nothing may be fed again: the process must stop, and a
   * restart resumes from the last checkpoint, which is consistent.
   */
  onFatal: (err: Error) => void = () => {}
  private failure: Error | undefined

  /** Deliveries from several sources, ticks and commits run one at a time. */
  private queue: Promise<unknown> = Promise.resolve()
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.failure) throw this.failure
      return fn()
    })
    this.queue = next.catch((err: Error) => {
      if (this.failure) return
      this.failure = err
      this.onFatal(err)
    })
    return next
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
