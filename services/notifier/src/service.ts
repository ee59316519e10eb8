import type { Config, RcaEvent } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { openStore } from '@connrca/store'
import { createKafkaTransport } from '@connrca/transport'
import { hasRoutes, storeBackedNotifier } from './index.js'

export const NOTIFIER_GROUP = 'connrca-notifier'

export interface NotifierServiceOptions {
  logger?: Logger
  metrics?: Metrics
}

/**
 * `connrca service notifier`: rca topic → webhooks. Delivery state lives in the store and the
 * notifier ignores a revision it already handled, so redelivered batches send nothing twice.
 * Without routes it still consumes (and says so once), so its group's lag stays meaningful.
 */
export async function startNotifierService(config: Config, opts: NotifierServiceOptions = {}): Promise<RunningService> {
  if (!config.kafka) throw new Error('notifier service: no kafka section in the config and no KAFKA_BROKERS')
  const logger = opts.logger ?? silentLogger
  const metrics = opts.metrics ?? new Metrics({ prefix: 'connrca_', labels: { service: 'notifier' } })
  const store = await openStore(config.store)
  const transport = createKafkaTransport(config.kafka, { logger, metrics })
  const notifier = hasRoutes(config.notify)
    ? storeBackedNotifier(config.notify, store, (line) => logger.info(line))
    : undefined
  if (!notifier) logger.warn('notifier: no notify routes configured; RCA events are consumed and not sent anywhere')
  const handled = metrics.counter('notifier_events_in_total', 'RCA event revisions handled.')
  let lastError: string | undefined
  const handle = async (events: RcaEvent[]) => {
    try {
      await notifier?.handle(events)
      lastError = undefined
    } catch (err) {
      lastError = (err as Error).message
      throw err
    }
    handled.inc(events.length)
  }
  notifier?.start()
  const sub = await transport.subscribe('rca', NOTIFIER_GROUP, handle)
  let closing = false
  return {
    name: 'notifier',
    metrics,
    health() {
      const t = transport.health()
      const degraded = closing || t.status === 'degraded' || lastError !== undefined
      return {
        status: degraded ? 'degraded' : 'ok',
        details: { kafka: t.details, routes: notifier ? 'configured' : 'none', lastError },
      }
    },
    async close() {
      if (closing) return
      closing = true
      await sub.close()
      await notifier?.stop()
      await transport.close()
      await store.close()
    },
  }
}
