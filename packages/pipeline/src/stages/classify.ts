import { Classifier, type ClassifierSnapshot } from '@connrca/classifier'
import type { ConnectionEvent, LogRecord } from '@connrca/contracts'
import type { Publisher } from '@connrca/transport'
import type { RunnerStage } from '../runner.js'

/** logs → classify → connections. Non-connection records end here. */
export class ClassifyStage implements RunnerStage<LogRecord, ClassifierSnapshot> {
  readonly classifier: Classifier
  recordsIn = 0
  eventsOut = 0

  /**
   * `out`: the connections topic handle() publishes to. The embedded pipeline passes none: it
   * takes the events of classifyBatch() and hands them on in-process, without a message each.
   */
  constructor(
    private readonly out: Publisher<ConnectionEvent> | undefined,
    classifier = new Classifier(),
  ) {
    this.classifier = classifier
  }

  /** Publishes not yet acknowledged by the topic; flush() waits for them (the commit point). */
  private acks: Promise<void>[] = []

  /**
   * Classifies and publishes without waiting for the topic's acknowledgment: the publisher has
   * encoded the events when publish() returns, so the records and events die young, and the
   * next batch is classified while the broker acknowledges this one. flush() waits.
   */
  readonly handle = async (batch: LogRecord[]): Promise<void> => {
    if (!this.out) throw new Error('ClassifyStage: handle() needs an output topic')
    const ack = this.out.publish(this.classifyBatch(batch).map((e) => ({ key: e.server, value: e })))
    // its failure is reported by flush(); until then it must not count as unhandled
    ack.catch(() => {})
    this.acks.push(ack)
  }

  /** The connection events of a batch, in record order. */
  classifyBatch(batch: LogRecord[]): ConnectionEvent[] {
    const events: ConnectionEvent[] = []
    for (const record of batch) {
      const event = this.classifier.classify(record)
      if (event) events.push(event)
    }
    this.recordsIn += batch.length
    this.eventsOut += events.length
    return events
  }

  /** Resolves once the topic acknowledged every event handle() published. */
  async flush(): Promise<void> {
    const acks = this.acks
    this.acks = []
    await this.out?.flush()
    await Promise.all(acks)
  }

  /** The memory of open connections (pid → client), exactly as of the records handled. */
  snapshot(): ClassifierSnapshot {
    return this.classifier.snapshot()
  }
}
