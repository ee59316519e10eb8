import { Classifier } from '@connrca/classifier'
import type { ConnectionEvent, LogRecord } from '@connrca/contracts'
import type { Message, Publisher } from '@connrca/transport'

/** logs → classify → connections. Non-connection records end here. */
export class ClassifyStage {
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
}
