import type { Config, DeadLetter, LogRecord } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { getCheckpoint, openStore, putCheckpoint } from '@connrca/store'
import { createKafkaTransport, type Message } from '@connrca/transport'
import { mayClassify } from '@connrca/classifier'
import { createSource, type Source, type SourceBatch } from '@connrca/pipeline'

export interface CollectorServiceOptions {
  logger?: Logger
  metrics?: Metrics
  /** How often source positions are saved to the store. Default 1 s. */
  checkpointMs?: number
}

export interface RunningCollector extends RunningService {
  /** Resolves when every source delivered its existing content (files, backfills). */
  caughtUp(): Promise<void>
}

/**
 * `connrca service collector`: the config's sources → logs (and dead letters) on Kafka. A batch
 * is accepted once the broker acknowledged it; a source's checkpoint only covers accepted
 * batches and is saved in the store as `collector.<source name>` every second and at shutdown,
 * so a restart resumes there (at-least-once; records carry stable ids, downstream dedupes).
 */
export async function startCollectorService(
  config: Config,
  opts: CollectorServiceOptions = {},
): Promise<RunningCollector> {
  if (!config.kafka) throw new Error('collector service: no kafka section in the config and no KAFKA_BROKERS')
  if (config.sources.length === 0) throw new Error('collector service: the config has no sources')
  const logger = opts.logger ?? silentLogger
  const metrics = opts.metrics ?? new Metrics({ prefix: 'connrca_', labels: { service: 'collector' } })
  const m = {
    records: metrics.counter('collector_records_out_total', 'Log records published.', ['source']),
    dead: metrics.counter('collector_deadletters_total', 'Unparsable input published as dead letters.', ['source']),
    latency: metrics.histogram('collector_batch_seconds', 'Time to publish one source batch.'),
    errors: metrics.counter('collector_errors_total', 'Failures, by operation (retried).', ['op']),
  }
  const store = await openStore(config.store)
  const transport = createKafkaTransport(config.kafka, { logger, metrics })
  const logs = transport.publisher('logs')
  const deadLetters = transport.publisher('deadletter')
  const log = (line: string) => logger.info(line)
  const sources: Source[] = config.sources.map((cfg) => createSource(cfg, { logger: log, relevant: mayClassify }))
  const names = new Set<string>()
  for (const s of sources) {
    if (names.has(s.name))
      throw new Error(`collector service: two sources are named "${s.name}"; give each a distinct name`)
    names.add(s.name)
  }
  let storeError: string | undefined
  let closing = false

  // publish() encodes the records into frames before it returns, and the producer re-sends those
  // until the broker acknowledges them: the batch is taken over (see Deliver), and nothing here
  // holds it while the acknowledgment is awaited (a plain function, not an async one).
  const deliverFor = (name: string) =>
    Object.assign(
      (batch: SourceBatch): Promise<void> => {
        const stop = m.latency.startTimer()
        const records = batch.records.length
        const dead = batch.deadLetters.length
        const sent = Promise.all([
          dead ? deadLetters.publish(batch.deadLetters.map(keyed)) : undefined,
          records ? logs.publish(batch.records.map(keyed)) : undefined,
        ])
        return sent.then(() => {
          stop()
          m.records.inc(records, { source: name })
          m.dead.inc(dead, { source: name })
        })
      },
      { takesBatch: true },
    )

  // Saving is serialized: an older position must never land after a newer one.
  let saving: Promise<void> = Promise.resolve()
  const saved = new Map<string, string>()
  const save = (): Promise<void> =>
    (saving = saving.then(async () => {
      for (const s of sources) {
        const value = JSON.stringify(s.checkpoint() ?? null)
        if (saved.get(s.name) === value) continue
        try {
          await putCheckpoint(store, `collector.${s.name}`, value)
          saved.set(s.name, value)
          storeError = undefined
        } catch (err) {
          m.errors.inc(1, { op: 'checkpoint' })
          storeError = (err as Error).message
          logger.warn(`collector: cannot save the position of ${s.name}, will retry: ${storeError}`)
        }
      }
    }))

  for (const s of sources) {
    const raw = await getCheckpoint(store, `collector.${s.name}`)
    const state = raw ? JSON.parse(raw) : undefined
    if (raw) saved.set(s.name, raw)
    await s.start(deliverFor(s.name), state ?? undefined)
    logger.info(`collector: source ${s.name} started${raw ? ' from its saved position' : ''}`)
  }
  const timer = setInterval(() => void save(), opts.checkpointMs ?? 1000)

  return {
    name: 'collector',
    metrics,
    caughtUp: () => Promise.all(sources.map((s) => s.caughtUp())).then(() => {}),
    health() {
      const t = transport.health()
      const degraded = closing || t.status === 'degraded' || storeError !== undefined
      return {
        status: degraded ? 'degraded' : 'ok',
        details: { kafka: t.details, sources: [...names], store: storeError ?? 'ok' },
      }
    },
    async close() {
      if (closing) return
      closing = true
      clearInterval(timer)
      await Promise.all(sources.map((s) => s.stop()))
      await transport.close()
      await save()
      await store.close()
    },
  }
}

function keyed<T extends LogRecord | DeadLetter>(value: T): Message<T> {
  return { key: value.server ?? '', value }
}
