import { compileCheck, DEAD_LETTER_RAW_LIMIT, type DeadLetter, TOPICS, type TopicKey } from '@connrca/contracts'
import type { BatchMeta, Subscription } from '../types.js'
import { backoffDelay, errorText, pause } from './backoff.js'
import type { WireBatch, WireClient, WireConsumer, WireRecord } from './client.js'
import { decodeFrame, topicRows } from './frame.js'
import type { TransportLogger, TransportMetrics } from './options.js'

const HEARTBEAT_SLICE_MS = 1000
/** A batch is decoded and handed to the handler in parts of about this many bytes of frames (one or two frames). */
const PART_BYTES = 1 << 18

/** The offset after a batch's last message. */
function lastNext(b: WireBatch): string {
  return (BigInt(b.messages[b.messages.length - 1].offset) + 1n).toString()
}

export type ConsumerStatus = 'starting' | 'running' | 'retrying' | 'stopped'

export interface ConsumerState {
  topic: string
  group: string
  status: ConsumerStatus
  /** Partitions this member owns since the last rebalance. */
  partitions: number[]
  lastError?: string
  failingSince?: number
}

export interface KafkaSubscription extends Subscription {
  readonly state: ConsumerState
  /** Resolves at the first group join (partitions assigned): from then on messages flow. */
  readonly joined: Promise<void>
}

export interface SubscribeOptions {
  /** Called after every rebalance with this member's partitions (e.g. to rebuild keyed state). */
  onAssign?: (partitions: number[]) => void
}

export interface ConsumerDeps {
  client: WireClient
  logger: TransportLogger
  metrics: TransportMetrics
  retry: { minMs: number; maxMs: number }
  ensureTopics(): Promise<void>
  /** Publishes dead letters; resolves when they are acknowledged. */
  deadLetter(letters: DeadLetter[]): Promise<void>
  onDeadLetter?: (letter: DeadLetter) => void
}

/**
 * A consumer-group member for one topic. Per partition batch, in parts of ~PART_BYTES: decode +
 * validate every message (failures become dead letters), hand the valid ones to the handler;
 * commit the batch's offsets only after the last part's handler resolved and the dead letters
 * were acknowledged. A handler that
 * throws gets the same batch again after a backoff (heartbeating meanwhile, so the member stays in
 * the group) until it succeeds, the partition is revoked, or the subscription closes; in the
 * last two cases nothing is committed and the batch is redelivered to the partition's next owner.
 */
export async function subscribeKafka<T>(
  deps: ConsumerDeps,
  key: TopicKey,
  topic: string,
  group: string,
  handler: (batch: T[], meta?: BatchMeta) => Promise<void>,
  opts: SubscribeOptions = {},
): Promise<KafkaSubscription> {
  const schema = TOPICS[key].schema
  // valid as it is: no zod copy (zod decides the rest, and names the reason)
  const valid = compileCheck(schema)
  const rows = topicRows(key)
  const { logger, retry } = deps
  const state: ConsumerState = { topic, group, status: 'starting', partitions: [] }
  const stop = new AbortController()
  const labels = { topic, group }
  const m = {
    in: deps.metrics.counter('kafka_records_in_total', 'Records (frame elements) consumed and handled.', [
      'topic',
      'group',
    ]),
    dead: deps.metrics.counter('kafka_deadletters_total', 'Records that failed validation.', ['topic', 'group']),
    errors: deps.metrics.counter('kafka_errors_total', 'Kafka client errors by operation.', ['op']),
    lag: deps.metrics.gauge('kafka_consumer_lag', 'Messages behind the partition end.', [
      'topic',
      'group',
      'partition',
    ]),
    latency: deps.metrics.histogram('kafka_batch_seconds', 'Time from batch receipt to commit.', ['topic', 'group']),
  }
  let consumer: WireConsumer | undefined
  let restarting: Promise<void> | undefined
  let resolveJoined!: () => void
  const joined = new Promise<void>((r) => (resolveJoined = r))

  function fail(op: string, err: unknown): void {
    m.errors.inc(1, { op })
    state.lastError = errorText(err)
    state.failingSince ??= Date.now()
  }

  function recovered(): void {
    state.status = 'running'
    state.lastError = undefined
    state.failingSince = undefined
  }

  function decode(records: WireRecord[]): { values: T[]; offsets: string[]; dead: DeadLetter[] } {
    const values: T[] = []
    const offsets: string[] = []
    const dead: DeadLetter[] = []
    const letter = (r: WireRecord, id: string, reason: string, raw: string) =>
      dead.push({
        id: `${topic}/${id}`,
        stage: 'validate',
        reason: `${topic} offset ${id}: ${reason}`,
        raw: raw.length > DEAD_LETTER_RAW_LIMIT ? raw.slice(0, DEAD_LETTER_RAW_LIMIT) : raw,
        server: r.key?.toString('utf8') || undefined,
        time: Date.now(),
      })
    for (const r of records) {
      const raw = r.value ? r.value.toString('utf8') : ''
      let items: unknown[]
      try {
        items = decodeFrame(raw, rows)
      } catch (err) {
        letter(r, r.offset, `not JSON: ${(err as Error).message}`, raw)
        continue
      }
      // One bad record of a frame is one dead letter; its neighbours go on (named offset/index).
      for (let i = 0; i < items.length; i++) {
        if (valid?.(items[i])) {
          values.push(items[i] as T)
          offsets.push(r.offset)
          continue
        }
        const parsed = schema.safeParse(items[i])
        if (parsed.success) {
          values.push(parsed.data as T)
          offsets.push(r.offset)
          continue
        }
        const issue = parsed.error.issues[0]
        const where = issue.path.length ? `${issue.path.join('.')}: ` : ''
        const id = items.length > 1 ? `${r.offset}/${i}` : r.offset
        const text = items.length > 1 ? (JSON.stringify(items[i]) ?? '') : raw
        letter(r, id, `does not match ${TOPICS[key].name}: ${where}${issue.message}`, text)
      }
    }
    return { values, offsets, dead }
  }

  /** Hands one part of a batch to the handler, retrying; false when the batch is given up (not committed). */
  async function handlePart(b: WireBatch, values: T[], meta: BatchMeta): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(values, meta)
        if (state.status === 'retrying') recovered()
        break
      } catch (err) {
        fail('handler', err)
        state.status = 'retrying'
        if (stop.signal.aborted || !b.isRunning() || b.isStale()) return false // not committed: redelivered
        const delay = backoffDelay(attempt, retry.minMs, retry.maxMs)
        logger.warn(`kafka consumer ${group}: handler failed on ${topic}[${b.partition}], retrying in ${delay} ms`, {
          attempt,
          error: state.lastError,
        })
        // Heartbeat through the pause: a backoff longer than the session timeout would otherwise
        // get the member evicted mid-batch (kafkajs throttles heartbeats to its interval).
        for (let left = delay; left > 0; left -= HEARTBEAT_SLICE_MS) {
          await pause(Math.min(left, HEARTBEAT_SLICE_MS), stop.signal)
          if (stop.signal.aborted || b.isStale()) return false
          await b.heartbeat()
        }
      }
    }
    return true
  }

  async function eachBatch(b: WireBatch): Promise<void> {
    if (b.messages.length === 0) return
    const t0 = performance.now()
    const dead: DeadLetter[] = []
    let handled = 0
    // the handler was last told that more of this batch follows
    let told: BatchMeta | undefined
    // A fetch holds up to 1 MiB of compressed frames per partition, ~10 MB of JSON. Decoded at
    // once, its records all live through the garbage collections their handling triggers, and
    // each collection copies them; decoded and handled a part at a time, most die young. Parts
    // can be this small because no handler waits for the next topic per part (ClassifyStage
    // publishes and goes on; the commit after the last part waits for the acknowledgments).
    for (let from = 0; from < b.messages.length; ) {
      let to = from
      let bytes = 0
      while (to < b.messages.length && (to === from || bytes < PART_BYTES)) bytes += b.messages[to++].value?.length ?? 0
      const part = decode(b.messages.slice(from, to))
      for (const d of part.dead) dead.push(d)
      const meta: BatchMeta = {
        partition: b.partition,
        offsets: part.offsets,
        firstOffset: b.messages[from].offset,
        nextOffset: (BigInt(b.messages[to - 1].offset) + 1n).toString(),
        more: to < b.messages.length,
        seek: (offset) => b.seek(offset),
      }
      if (part.values.length > 0) {
        if (!(await handlePart(b, part.values, meta))) return
        handled += part.values.length
        told = meta.more ? meta : undefined
        // a handler that sought (StageRunner reading a gap again) made the rest of the batch stale
        if (b.isStale()) return
      }
      from = to
    }
    if (told) {
      // the parts after it held dead letters only: the handler still hears where the batch ends
      // (StageRunner commits there), in a part with no records
      const end: BatchMeta = {
        ...told,
        offsets: [],
        firstOffset: told.nextOffset,
        nextOffset: lastNext(b),
        more: false,
      }
      if (!(await handlePart(b, [], end)) || b.isStale()) return
    }
    if (dead.length > 0) {
      if (key === 'deadletter') {
        // Nowhere further to send a broken dead letter: report it and move on.
        for (const d of dead) logger.error(`kafka consumer ${group}: ${d.reason}`)
      } else {
        await deps.deadLetter(dead)
      }
      m.dead.inc(dead.length, labels)
      for (const d of dead) deps.onDeadLetter?.(d)
    }
    // Revoked while we worked: the new owner starts from the last commit and redoes this batch.
    if (b.isStale()) return
    const next = lastNext(b)
    await b.commit(next)
    // counted once committed: a batch given up after some of its parts is redelivered whole
    m.in.inc(handled, labels)
    m.lag.set(Math.max(0, Number(BigInt(b.highWatermark) - BigInt(next))), { ...labels, partition: b.partition })
    m.latency.observe((performance.now() - t0) / 1000, labels)
  }

  async function start(): Promise<void> {
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      const c = deps.client.consumer(group)
      c.onJoin((assignment) => {
        state.partitions = [...(assignment[topic] ?? [])].sort((a, b) => a - b)
        if (state.status !== 'retrying') recovered()
        logger.info(`kafka consumer ${group}: assigned ${topic} partitions [${state.partitions.join(',')}]`)
        opts.onAssign?.(state.partitions)
        resolveJoined()
      })
      c.onCrash((err, willRestart) => {
        fail('consumer', err)
        state.status = 'retrying'
        logger.warn(`kafka consumer ${group}: crashed on ${topic}: ${errorText(err)}`, { willRestart })
        if (!willRestart && !stop.signal.aborted) restarting ??= restart()
      })
      try {
        await deps.ensureTopics()
        await c.connect()
        await c.subscribe(topic)
        await c.run(eachBatch)
        consumer = c
        return
      } catch (err) {
        fail('connect', err)
        state.status = 'retrying'
        await c.disconnect().catch(() => {})
        const delay = backoffDelay(attempt, retry.minMs, retry.maxMs)
        logger.warn(`kafka consumer ${group}: cannot start on ${topic}, retrying in ${delay} ms: ${state.lastError}`)
        await pause(delay, stop.signal)
      }
    }
  }

  async function restart(): Promise<void> {
    const old = consumer
    consumer = undefined
    await old?.disconnect().catch(() => {})
    await pause(backoffDelay(1, retry.minMs, retry.maxMs), stop.signal)
    await start()
    restarting = undefined
  }

  await start()
  return {
    state,
    joined,
    async close() {
      if (stop.signal.aborted) return
      stop.abort()
      await restarting
      state.status = 'stopped'
      // Finishes the running batch (its commit included), then leaves the group.
      await consumer?.disconnect().catch((err) => logger.warn(`kafka consumer ${group}: ${errorText(err)}`))
      consumer = undefined
    },
  }
}
