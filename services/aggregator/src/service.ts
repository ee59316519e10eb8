import type { Config, ConnectionEvent } from '@connrca/contracts'
import { type Logger, Metrics, type RunningService, silentLogger } from '@connrca/observe'
import { getCheckpoint, openStore, putCheckpoint, type Store } from '@connrca/store'
import { type BatchMeta, createKafkaTransport } from '@connrca/transport'
import { windowOptionsFromConfig } from '@connrca/windowing'
import { WindowStage, type WindowStageState, deadLetterSink } from '@connrca/pipeline'

export const AGGREGATOR_GROUP = 'connrca-aggregator'
export const DEADLETTER_STORE_GROUP = 'connrca-deadletter-store'

export interface ServiceOptions {
  logger?: Logger
  metrics?: Metrics
  /** Processing-time tick (idle timeout, late revisions). Default 1 s. */
  tickMs?: number
}

/** What a partition's checkpoint holds: everything before `nextOffset` is inside `state`. */
interface PartitionCheckpoint {
  v: 1
  nextOffset: string
  state: WindowStageState
  seen: [server: string, ids: [id: string, time: number][]][]
}

/**
 * Ids of the events a partition's windows still hold, per server: a record re-published by a
 * classifier that died before committing arrives twice on the connections topic, and only the
 * first may count. Older events need no entry: their windows are purged, so the window
 * aggregator drops them anyway (horizon = allowed lateness + window length behind the newest).
 */
class SeenIds {
  private readonly servers = new Map<string, { max: number; ids: Map<string, number> }>()

  constructor(private readonly horizonMs: number) {}

  /** True the second time an id is offered. */
  duplicate(e: ConnectionEvent): boolean {
    let s = this.servers.get(e.server)
    if (!s) this.servers.set(e.server, (s = { max: Number.NEGATIVE_INFINITY, ids: new Map() }))
    if (s.ids.has(e.id)) return true
    if (e.time < s.max - this.horizonMs) return false // purged window: dropped as late downstream
    s.ids.set(e.id, e.time)
    if (e.time > s.max) s.max = e.time
    return false
  }

  prune(): void {
    for (const s of this.servers.values()) {
      const limit = s.max - this.horizonMs
      for (const [id, t] of s.ids) if (t < limit) s.ids.delete(id)
    }
  }

  snapshot(): PartitionCheckpoint['seen'] {
    return [...this.servers].map(([server, s]) => [server, [...s.ids]])
  }

  static restore(horizonMs: number, seen: PartitionCheckpoint['seen']): SeenIds {
    const out = new SeenIds(horizonMs)
    for (const [server, ids] of seen) {
      const m = new Map(ids)
      let max = Number.NEGATIVE_INFINITY
      for (const t of m.values()) if (t > max) max = t
      out.servers.set(server, { max, ids: m })
    }
    return out
  }
}

interface Worker {
  stage: WindowStage
  seen: SeenIds
  nextOffset: bigint
  /** Where this worker asked the consumer to read from again, once (see handle). */
  sought?: bigint
  /** Windows and RCA revisions already counted in the metrics. */
  counted: { windows: number; rca: number }
}

/**
 * `connrca service aggregator`: connections → windows, incidents, RCA events; raw events,
 * windows and RCA rows in the store; RCA events on the rca topic. Also stores dead letters.
 *
 * Exactly-once in effect across restarts and rebalances: one WindowStage per assigned
 * partition (key = server, so a server's state lives in exactly one of them). After every batch
 * the stage's rows are written, then the checkpoint `aggregator.p<P>` = {state, next offset}, and
 * only then the transport commits. A new owner (rebalance, restart) restores the checkpoint and
 * skips offsets below it (or, when the group committed past it, reads again from it), so
 * handed-over windows continue where they were, without double counting, gaps or emitting
 * twice. Any failure drops the partition's in-memory state (it may be ahead of the store) and
 * the batch is retried from the checkpoint after a backoff.
 */
export async function startAggregatorService(config: Config, opts: ServiceOptions = {}): Promise<RunningService> {
  if (!config.kafka) throw new Error('aggregator service: no kafka section in the config and no KAFKA_BROKERS')
  const kafka = config.kafka
  const logger = opts.logger ?? silentLogger
  const metrics = opts.metrics ?? new Metrics({ prefix: 'connrca_', labels: { service: 'aggregator' } })
  const m = {
    windows: metrics.counter('aggregator_windows_out_total', 'Window counts emitted.'),
    rca: metrics.counter('aggregator_rca_out_total', 'RCA event revisions emitted.'),
    dups: metrics.counter(
      'aggregator_duplicates_total',
      'Connection events seen twice (redelivered), not counted again.',
    ),
    errors: metrics.counter('aggregator_errors_total', 'Batches or ticks that failed and will be retried.', ['op']),
    partitions: metrics.gauge('aggregator_partitions', 'Partitions of the connections topic owned.'),
  }
  const store = await openStore(config.store)
  const transport = createKafkaTransport(kafka, { logger, metrics })
  const rcaOut = transport.publisher('rca')
  const w = windowOptionsFromConfig(config.pipeline)
  const horizonMs = w.allowedLatenessMs + w.windowMs
  const checkpointName = (p: number) => `aggregator.${kafka.topicPrefix ?? ''}p${p}`
  const workers = new Map<number, Worker>()
  const chains = new Map<number, Promise<unknown>>()
  let owned = new Set<number>()
  let storeError: { message: string; since: number } | undefined
  let closing = false

  function newStage(state?: WindowStageState): WindowStage {
    return new WindowStage({
      pipeline: config.pipeline,
      servers: config.servers,
      store,
      storeOutcomes: config.store.storeOutcomes,
      rcaOut,
      state,
      // The transport retries the whole batch from the checkpoint with its own backoff.
      writeRetries: 1,
    })
  }

  async function worker(p: number): Promise<Worker> {
    const have = workers.get(p)
    if (have) return have
    const raw = await getCheckpoint(store, checkpointName(p))
    const cp = raw ? (JSON.parse(raw) as PartitionCheckpoint) : undefined
    const made: Worker = cp
      ? {
          stage: newStage(cp.state),
          seen: SeenIds.restore(horizonMs, cp.seen),
          nextOffset: BigInt(cp.nextOffset),
          counted: { windows: 0, rca: 0 },
        }
      : { stage: newStage(), seen: new SeenIds(horizonMs), nextOffset: 0n, counted: { windows: 0, rca: 0 } }
    if (cp) logger.info(`aggregator: partition ${p} restored at offset ${cp.nextOffset}`)
    workers.set(p, made)
    return made
  }

  /** Batches and ticks of one partition run one at a time. */
  function serial<T>(p: number, fn: () => Promise<T>): Promise<T> {
    const next = (chains.get(p) ?? Promise.resolve()).then(fn)
    chains.set(
      p,
      next.catch(() => {}),
    )
    return next
  }

  async function commitPoint(p: number, wk: Worker): Promise<void> {
    await wk.stage.flush()
    wk.seen.prune()
    const cp: PartitionCheckpoint = {
      v: 1,
      nextOffset: wk.nextOffset.toString(),
      state: wk.stage.snapshot(),
      seen: wk.seen.snapshot(),
    }
    await putCheckpoint(store, checkpointName(p), JSON.stringify(cp))
    storeError = undefined
    // Counted once stored; emitted since the last commit point (handle and tick emit before it).
    m.windows.inc(wk.stage.windowsOut - wk.counted.windows)
    m.rca.inc(wk.stage.rcaOut - wk.counted.rca)
    wk.counted = { windows: wk.stage.windowsOut, rca: wk.stage.rcaOut }
  }

  function failed(p: number, op: string, err: unknown): never {
    // The stage's memory may be ahead of the store now: rebuild it from the checkpoint.
    workers.delete(p)
    m.errors.inc(1, { op })
    storeError ??= { message: (err as Error).message, since: Date.now() }
    throw err
  }

  const handle = (batch: ConnectionEvent[], meta?: BatchMeta): Promise<void> => {
    if (!meta) throw new Error('aggregator service: needs the Kafka transport (partition and offsets per batch)')
    const p = meta.partition
    return serial(p, async () => {
      let wk: Worker | undefined
      try {
        wk = await worker(p)
        if (BigInt(meta.firstOffset) > wk.nextOffset && wk.sought !== wk.nextOffset) {
          // The group committed past this checkpoint: an owner that had been dropped from the
          // group without noticing yet (evicted mid-batch) saved an older checkpoint after the
          // newer one. Read the gap again rather than leave its events out of the windows.
          // Once: offsets that the topic no longer holds cannot be read again.
          logger.warn(
            `aggregator: partition ${p} restored at offset ${wk.nextOffset} but consumed from ${meta.firstOffset}; reading the gap again`,
          )
          wk.sought = wk.nextOffset
          meta.seek(wk.nextOffset.toString())
          return
        }
        const fresh: ConnectionEvent[] = []
        let last = -1n
        for (let i = 0; i < batch.length; i++) {
          const off = BigInt(meta.offsets[i])
          if (off < wk.nextOffset) continue // already inside the restored state
          last = off
          if (wk.seen.duplicate(batch[i])) m.dups.inc()
          else fresh.push(batch[i])
        }
        if (last < 0n) return
        await wk.stage.handle(fresh)
        wk.nextOffset = last + 1n
        await commitPoint(p, wk)
      } catch (err) {
        failed(p, 'batch', err)
      }
    })
  }

  const tickMs = opts.tickMs ?? 1000
  const ticker = setInterval(() => {
    for (const p of workers.keys()) {
      serial(p, async () => {
        const wk = workers.get(p)
        if (!wk || closing) return
        const before = wk.stage.windowsOut + wk.stage.rcaOut
        await wk.stage.tick(Date.now())
        if (wk.stage.windowsOut + wk.stage.rcaOut !== before) await commitPoint(p, wk)
      }).catch((err) => {
        workers.delete(p)
        m.errors.inc(1, { op: 'tick' })
        storeError ??= { message: (err as Error).message, since: Date.now() }
        logger.warn(
          `aggregator: tick of partition ${p} failed, state reloads from the checkpoint: ${(err as Error).message}`,
        )
      })
    }
  }, tickMs)

  function onAssign(partitions: number[]): void {
    owned = new Set(partitions)
    m.partitions.set(owned.size)
    for (const p of [...workers.keys()]) {
      if (owned.has(p)) continue
      // Revoked: the next owner restores from the checkpoint written after our last batch.
      serial(p, async () => {
        if (!owned.has(p)) workers.delete(p)
      })
    }
  }

  const subs = [
    await transport.subscribe('connections', AGGREGATOR_GROUP, handle, { onAssign }),
    await transport.subscribe('deadletter', DEADLETTER_STORE_GROUP, deadLetterSink(store)),
  ]
  logger.info('aggregator: consuming', { group: AGGREGATOR_GROUP, brokers: kafka.brokers.join(',') })

  return {
    name: 'aggregator',
    metrics,
    health() {
      const t = transport.health()
      const degraded = t.status === 'degraded' || storeError !== undefined
      return {
        status: closing ? 'degraded' : degraded ? 'degraded' : 'ok',
        details: { kafka: t.details, partitions: [...owned].sort((a, b) => a - b), store: storeError ?? 'ok' },
      }
    },
    async close() {
      if (closing) return
      closing = true
      clearInterval(ticker)
      await Promise.all(subs.map((s) => s.close()))
      await Promise.all([...chains.values()])
      await transport.close()
      await store.close()
    },
  }
}

