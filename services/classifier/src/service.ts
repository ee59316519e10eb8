import { Classifier, type ClassifierSnapshot } from '@connrca/classifier'
import type { Config, LogRecord } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { getCheckpoint, openStore, putCheckpoint } from '@connrca/store'
import { type BatchMeta, createKafkaTransport } from '@connrca/transport'
import { ClassifyStage } from '@connrca/pipeline'

export const CLASSIFIER_GROUP = 'connrca-classifier'

export interface ClassifierServiceOptions {
  logger?: Logger
  metrics?: Metrics
}

/** The classifier's memory for one partition of the logs topic, and where it stands. */
interface Worker {
  stage: ClassifyStage
  nextOffset: bigint
  /** Where this worker asked the consumer to read from again, once. */
  sought?: bigint
}

interface PartitionCheckpoint {
  v: 1
  nextOffset: string
  memory: ClassifierSnapshot
}

/**
 * `connrca service classifier`: logs → ClassifyStage → connections. One classifier per
 * partition (key = server, so a server's memory of its backends lives in exactly one). After a
 * batch's events are acknowledged by the broker, the partition's memory is saved as checkpoint
 * `classifier.p<P>` = {memory, next offset}; only then does the transport commit. A new owner
 * (rebalance, restart, kill) restores it, skips offsets it covers, or reads again from it when
 * the group committed past it, so an attempt whose `connection received` the old owner read
 * still gets its client address. Events published twice by a replay are dropped downstream
 * (the aggregator dedupes by id).
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
  const checkpointName = (p: number) => `classifier.${kafka.topicPrefix ?? ''}p${p}`
  const workers = new Map<number, Worker>()

  async function restore(p: number, first: bigint): Promise<Worker> {
    const raw = await getCheckpoint(store, checkpointName(p))
    const cp = raw ? (JSON.parse(raw) as PartitionCheckpoint) : undefined
    const wk: Worker = cp
      ? { stage: new ClassifyStage(out, Classifier.restore({}, cp.memory)), nextOffset: BigInt(cp.nextOffset) }
      : { stage: new ClassifyStage(out), nextOffset: first }
    if (cp) logger.info(`classifier: partition ${p} restored at offset ${cp.nextOffset}`)
    workers.set(p, wk)
    return wk
  }

  const handle = async (batch: LogRecord[], meta?: BatchMeta): Promise<void> => {
    if (!meta) throw new Error('classifier service: needs the Kafka transport (partition and offsets per batch)')
    const p = meta.partition
    const first = BigInt(meta.firstOffset)
    try {
      let wk = workers.get(p)
      // Memory from an earlier ownership is stale once another owner moved the partition on.
      if (!wk || first > wk.nextOffset) wk = await restore(p, first)
      if (first > wk.nextOffset && wk.sought !== wk.nextOffset) {
        // The group committed past the saved memory (an evicted owner saved late): read the gap again.
        logger.warn(`classifier: partition ${p} restored at offset ${wk.nextOffset} but consumed from ${first}; reading the gap again`)
        wk.sought = wk.nextOffset
        meta.seek(wk.nextOffset.toString())
        return
      }
      const fresh: LogRecord[] = []
      for (let i = 0; i < batch.length; i++) if (BigInt(meta.offsets[i]) >= wk.nextOffset) fresh.push(batch[i])
      const next = BigInt(meta.nextOffset)
      if (next <= wk.nextOffset) return // all of it is inside the restored memory
      const before = wk.stage.eventsOut
      await wk.stage.handle(fresh)
      wk.nextOffset = next
      const cp: PartitionCheckpoint = { v: 1, nextOffset: next.toString(), memory: wk.stage.classifier.snapshot() }
      await putCheckpoint(store, checkpointName(p), JSON.stringify(cp))
      m.in.inc(fresh.length)
      m.out.inc(wk.stage.eventsOut - before)
    } catch (err) {
      // The memory may be ahead of what was saved: the retry starts again from the checkpoint.
      workers.delete(p)
      throw err
    }
  }
  const sub = await transport.subscribe('logs', CLASSIFIER_GROUP, handle)
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
