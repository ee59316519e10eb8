import type { Config } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { createKafkaTransport } from '@connrca/transport'
import { ClassifierStage } from './stage.js'

export const CLASSIFIER_GROUP = 'connrca-classifier'

export interface ClassifierServiceOptions {
  logger?: Logger
  metrics?: Metrics
}

/**
 * `connrca service classifier`: logs → ClassifierStage → connections. A batch's offsets are
 * committed only after its connection events are acknowledged by the broker. Stateless but for
 * the classifier's per-server memory (pid → connection, admitted TLS clients): it is per
 * instance, so right after a rebalance the new owner of a partition starts without the previous
 * owner's memory (best effort; the aggregator drops events a replay publishes twice).
 */
export async function startClassifierService(
  config: Config,
  opts: ClassifierServiceOptions = {},
): Promise<RunningService> {
  if (!config.kafka) throw new Error('classifier service: no kafka section in the config and no KAFKA_BROKERS')
  const logger = opts.logger ?? silentLogger
  const metrics = opts.metrics ?? new Metrics({ prefix: 'connrca_', labels: { service: 'classifier' } })
  const transport = createKafkaTransport(config.kafka, { logger, metrics })
  const stage = new ClassifierStage(transport.publisher('connections'))
  const m = {
    in: metrics.counter('classifier_records_in_total', 'Log records classified.'),
    out: metrics.counter('classifier_events_out_total', 'Connection events published.'),
  }
  const handle = async (batch: Parameters<typeof stage.handle>[0]) => {
    const before = stage.eventsOut
    await stage.handle(batch)
    m.in.inc(batch.length)
    m.out.inc(stage.eventsOut - before)
  }
  const sub = await transport.subscribe('logs', CLASSIFIER_GROUP, handle)
  logger.info('classifier: consuming', { group: CLASSIFIER_GROUP, brokers: config.kafka.brokers.join(',') })
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
    },
  }
}
