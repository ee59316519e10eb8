import { Classifier, type ClassifierSnapshot } from '@connrca/classifier'
import type { Config, LogRecord } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { ClassifyStage, StageRunner } from '@connrca/pipeline'
import { openStore } from '@connrca/store'
import { createKafkaTransport } from '@connrca/transport'

export const CLASSIFIER_GROUP = 'connrca-classifier'

export interface ClassifierServiceOptions {
  logger?: Logger
  metrics?: Metrics
}

/**
 * `connrca service classifier`: logs → ClassifyStage → connections, one stage per partition of
 * the logs topic (key = server, so a server's memory of its backends lives in exactly one), run
 * by the pipeline's StageRunner: after a batch's events are acknowledged by the broker the
 * partition's memory is saved as checkpoint `classifier.p<P>`, then the transport commits. A new
 * owner restores it, so an attempt whose `connection received` the old owner read still gets its
 * client address. Events published twice by a replay are dropped downstream (by id).
 */
export async function startClassifierService(
  config: Config,
  opts: ClassifierServiceOptions = {},
): Promise<RunningService> {
  if (!config.kafka) throw new Error('classifier service: no kafka section in the config and no KAFKA_BROKERS')
  const kafka = config.kafka
  const logger = opts.logger ?? silentLogger
  const metrics = opts.metrics ?? new Metrics({ prefix: 'connrca_', labels: { service: 'classifier' } })
  const store = await openStore(config.store)
  const transport = createKafkaTransport(kafka, { logger, metrics })
  const out = transport.publisher('connections')
  const m = {
    in: metrics.counter('classifier_records_in_total', 'Log records classified.'),
    out: metrics.counter('classifier_events_out_total', 'Connection events published.'),
  }
  const counted = new WeakMap<ClassifyStage, { in: number; out: number }>()
  const runner = new StageRunner<LogRecord, ClassifierSnapshot>({
    label: 'classifier',
    store,
    checkpointName: (p) => `classifier.${kafka.topicPrefix ?? ''}p${p}`,
    open: (_p, state) => new ClassifyStage(out, state ? Classifier.restore({}, state) : new Classifier()),
    commitEveryBatch: true,
    logger,
    onCommit: (_p, s) => {
      const stage = s as ClassifyStage
      const c = counted.get(stage) ?? { in: 0, out: 0 }
      m.in.inc(stage.recordsIn - c.in)
      m.out.inc(stage.eventsOut - c.out)
      counted.set(stage, { in: stage.recordsIn, out: stage.eventsOut })
    },
  })
  const sub = await transport.subscribe('logs', CLASSIFIER_GROUP, (batch, meta) => {
    if (!meta) throw new Error('classifier service: needs the Kafka transport (partition and offsets per batch)')
    return runner.handle(batch, meta)
  })
  logger.info('classifier: consuming', { group: CLASSIFIER_GROUP, brokers: kafka.brokers.join(',') })
  let closing = false
  return {
    name: 'classifier',
    metrics,
    health() {
      const t = transport.health()
      return {
        status: closing ? 'degraded' : t.status,
        details: { kafka: t.details, partitions: sub.state.partitions },
      }
    },
    async close() {
      if (closing) return
      closing = true
      await sub.close()
      await transport.close()
      await store.close()
    },
  }
}
