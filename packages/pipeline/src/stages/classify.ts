import { Classifier, type ClassifierSnapshot } from '@connrca/classifier'
import type { ConnectionEvent, LogRecord } from '@connrca/contracts'
import type { Message, Publisher } from '@connrca/transport'
import type { RunnerStage } from '../runner.js'

/** logs → classify → connections. Non-connection records end here. */
export class ClassifyStage implements RunnerStage<LogRecord, ClassifierSnapshot> {
  readonly classifier: Classifier
  recordsIn = 0
  eventsOut = 0

  constructor(
    private readonly out: Publisher<ConnectionEvent>,
    classifier = new Classifier(),
  ) {
    this.classifier = classifier
  }

  readonly handle = async (batch: LogRecord[]): Promise<void> => {
    const events: Message<ConnectionEvent>[] = []
    for (const record of batch) {
      const event = this.classifier.classify(record)
      if (event) events.push({ key: event.server, value: event })
    }
    this.recordsIn += batch.length
    this.eventsOut += events.length
    await this.out.publish(events)
  }

  /** publish() resolves once the topic accepted the events; nothing is held here. */
  async flush(): Promise<void> {
    await this.out.flush()
  }

  /** The memory of open connections (pid → client), exactly as of the records handled. */
  snapshot(): ClassifierSnapshot {
    return this.classifier.snapshot()
  }
}
