import type { Config, ConnectionEvent } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { deadLetterSink, StageRunner, WindowStage, type WindowStageState } from '@connrca/pipeline'
import { openStore } from '@connrca/store'
import { createKafkaTransport } from '@connrca/transport'

export const AGGREGATOR_GROUP = 'connrca-aggregator'
export const DEADLETTER_STORE_GROUP = 'connrca-deadletter-store'

export interface ServiceOptions {
  logger?: Logger
  metrics?: Metrics
  /** Processing-time tick (idle timeout, late revisions). Default 1 s. */
  tickMs?: number
}

/**
 * `connrca service aggregator`: connections → WindowStage per partition (key = server, so a
 * server's windows live in exactly one), run by the pipeline's StageRunner: after every batch
 * the rows are stored, then checkpoint `aggregator.p<P>` = {state, next offset}, then the
 * transport commits; a new owner restores it. Event ids are counted once (redeliveries). A
 * processing-time tick per partition closes idle windows. Also stores dead letters.
 */
export async function startAggregatorService(config: Config, opts: ServiceOptions = {}): Promise<RunningService> {
  if (!config.kafka) throw new Error('aggregator service: no kafka section in the config and no KAFKA_BROKERS')
  const kafka = config.kafka
  const logger = opts.logger ?? silentLogger
  const metrics = opts.metrics ?? new Metrics({ prefix: 'connrca_', labels: { service: 'aggregator' } })
  const m = {
    windows: metrics.counter('aggregator_windows_out_total', 'Window counts emitted.'),
    rca: metrics.counter('aggregator_rca_out_total', 'RCA event revisions emitted.'),
    dups: metrics.counter('aggregator_duplicates_total', 'Connection events seen twice (redelivered), not counted again.'),
    late: metrics.counter('aggregator_late_dropped_total', 'Connection events later than the allowed lateness, dropped.'),
    errors: metrics.counter('aggregator_errors_total', 'Batches or ticks that failed and will be retried.', ['op']),
    partitions: metrics.gauge('aggregator_partitions', 'Partitions of the connections topic owned.'),
  }
  const store = await openStore(config.store)
  const transport = createKafkaTransport(kafka, { logger, metrics })
  const rcaOut = transport.publisher('rca')
  let storeError: { message: string; since: number } | undefined
  let closing = false
  let owned = new Set<number>()
  // Counted once stored: what a stage emitted since its last commit point.
  const counted = new WeakMap<WindowStage, { windows: number; rca: number; dups: number; late: number }>()

  const runner = new StageRunner<ConnectionEvent, WindowStageState>({
    label: 'aggregator',
    store,
    checkpointName: (p) => `aggregator.${kafka.topicPrefix ?? ''}p${p}`,
    open: (_p, state) =>
      new WindowStage({
        pipeline: config.pipeline,
        servers: config.servers,
        store,
        storeOutcomes: config.store.storeOutcomes,
        rcaOut,
        state,
        dedupeIds: true,
        // The transport retries the whole batch from the checkpoint with its own backoff.
        writeRetries: 1,
      }),
    commitEveryBatch: true,
    logger,
    onCommit: (_p, s) => {
      const stage = s as WindowStage
      const c = counted.get(stage) ?? { windows: 0, rca: 0, dups: 0, late: 0 }
      m.windows.inc(stage.windowsOut - c.windows)
      m.rca.inc(stage.rcaOut - c.rca)
      m.dups.inc(stage.duplicates - c.dups)
      m.late.inc(stage.lateDropped - c.late)
      counted.set(stage, { windows: stage.windowsOut, rca: stage.rcaOut, dups: stage.duplicates, late: stage.lateDropped })
      storeError = undefined
    },
  })
  const failed = (op: string) => (err: unknown) => {
    m.errors.inc(1, { op })
    storeError ??= { message: (err as Error).message, since: Date.now() }
    throw err
  }

  const ticker = setInterval(() => {
    if (closing) return
    for (const p of runner.partitions()) {
      runner
        .tick(p, async (s) => {
          const stage = s as WindowStage
          const before = stage.windowsOut + stage.rcaOut
          await stage.tick(Date.now())
          return stage.windowsOut + stage.rcaOut !== before
        })
        .catch(failed('tick'))
        .catch((err) =>
          logger.warn(`aggregator: tick of partition ${p} failed, state reloads from the checkpoint: ${(err as Error).message}`),
        )
    }
  }, opts.tickMs ?? 1000)

  const subs = [
    await transport.subscribe(
      'connections',
      AGGREGATOR_GROUP,
      (batch, meta) => {
        if (!meta) throw new Error('aggregator service: needs the Kafka transport (partition and offsets per batch)')
        return runner.handle(batch, meta).catch(failed('batch'))
      },
      {
        onAssign(partitions: number[]) {
          owned = new Set(partitions)
          m.partitions.set(owned.size)
          runner.keepOnly(owned)
        },
      },
    ),
    await transport.subscribe('deadletter', DEADLETTER_STORE_GROUP, deadLetterSink(store)),
  ]
  logger.info('aggregator: consuming', { group: AGGREGATOR_GROUP, brokers: kafka.brokers.join(',') })

  return {
    name: 'aggregator',
    metrics,
    health() {
      const t = transport.health()
      const degraded = closing || t.status === 'degraded' || storeError !== undefined
      return {
        status: degraded ? 'degraded' : 'ok',
        details: { kafka: t.details, partitions: [...owned].sort((a, b) => a - b), store: storeError ?? 'ok' },
      }
    },
    async close() {
      if (closing) return
      closing = true
      clearInterval(ticker)
      await Promise.all(subs.map((s) => s.close()))
      await runner.idle()
      await transport.close()
      await store.close()
    },
  }
}
