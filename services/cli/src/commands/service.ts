import type { Config } from '@connrca/contracts'
import {
  configureShutdown,
  createLogger,
  healthListenFromEnv,
  type Logger,
  Metrics,
  onShutdown,
  type RunningService,
  shutdown,
  startHealthServer,
} from '@connrca/observe'
import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { UsageError, UserError } from '../errors.js'

const NAMES = ['collector', 'classifier', 'aggregator', 'notifier', 'api'] as const
type Name = (typeof NAMES)[number]
const USAGE = `connrca service ${NAMES.join('|')} [--config C]`

/**
 * One pipeline stage as its own process (distributed mode): Kafka between stages, a ClickHouse
 * server as the store. /healthz and /metrics on CONNRCA_HEALTH_PORT (9464); SIGTERM finishes the
 * running batch, commits, leaves the consumer group and flushes before exiting.
 */
export async function service(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { config: { type: 'string' } }, USAGE)
  const name = positionals[0] as Name | undefined
  if (!name || !NAMES.includes(name) || positionals.length > 1) {
    throw new UsageError(`${name ? `unknown service "${positionals.join(' ')}"` : 'which service?'}\nusage: ${USAGE}`)
  }
  const config = loadConfig(values.config)
  if (name !== 'api' && !config.kafka) {
    throw new UserError(`service ${name}: Kafka is not configured; set kafka.brokers in the config or KAFKA_BROKERS`)
  }
  const logger = createLogger(`connrca-${name}`)
  if (!config.store.url) {
    logger.warn(
      `no store.url (CONNRCA_STORE_URL): using embedded chDB at ${config.store.dataDir}, which only one process can open`,
    )
  }
  const listen = healthListenFromEnv()
  const metrics = new Metrics({ prefix: 'connrca_', labels: { service: name } })
  configureShutdown({ log: (line) => logger.info(line) })

  let running: RunningService
  try {
    running = await start(name, config, logger, metrics)
  } catch (err) {
    throw new UserError(`service ${name}: ${(err as Error).message}`)
  }
  onShutdown(() => running.close())
  const health = await startHealthServer({ ...listen, metrics, health: () => running.health() })
  onShutdown(() => health.close())
  logger.info(`${name}: running; /healthz and /metrics on port ${health.port}`, { healthPort: health.port })
  process.on('unhandledRejection', (err) => {
    logger.error(`${name}: ${(err as Error)?.message ?? String(err)}`)
    void shutdown('unhandled error')
  })
  await new Promise(() => {})
}

async function start(name: Name, config: Config, logger: Logger, metrics: Metrics): Promise<RunningService> {
  const opts = { logger, metrics }
  // each stage is imported when it starts: a process loads its own stage's code, not all five
  switch (name) {
    case 'collector':
      return (await import('@connrca/service-collector')).startCollectorService(config, opts)
    case 'classifier':
      return (await import('@connrca/service-classifier')).startClassifierService(config, opts)
    case 'aggregator':
      return (await import('@connrca/service-aggregator')).startAggregatorService(config, opts)
    case 'notifier':
      return (await import('@connrca/service-notifier')).startNotifierService(config, opts)
    case 'api': {
      let closing = false
      const { startApiService } = await import('@connrca/service-api')
      const api = await startApiService(config, {
        onError: (err, where) => logger.error(`api: ${where}: ${(err as Error)?.message ?? String(err)}`),
      })
      logger.info(`api: listening on ${api.url}`)
      return {
        name,
        metrics,
        health: () => ({ status: closing ? 'degraded' : 'ok', details: { url: api.url } }),
        close: async () => {
          closing = true
          await api.close()
        },
      }
    }
  }
}
