import type { Logger } from '@connrca/observe'
import { getCheckpoint, putCheckpoint, type Store } from '@connrca/store'
import type { BatchMeta } from '@connrca/transport'

/**
 * A stage the runner can checkpoint: `handle` feeds it input, `flush` makes everything derived
 * from that input durable downstream (stored / acknowledged by the next topic), `snapshot` is
 * its state, exactly covering the input handled so far.
 */
export interface RunnerStage<T, S> {
  handle(batch: T[]): Promise<void>
  flush(): Promise<void>
  snapshot(): S
}

/** What a partition's checkpoint holds: every input position before `nextOffset` is inside `state`. */
export interface StageCheckpoint<S> {
  v: 2
  nextOffset: string
  state: S
}

/** Where a batch sits in its partition: the Kafka transport's BatchMeta, or the embedded counter. */
export type BatchPosition = Pick<BatchMeta, 'partition' | 'offsets' | 'firstOffset' | 'nextOffset' | 'more' | 'seek'>

export interface StageRunnerOptions<T, S> {
  /** For log lines: `classifier`, `aggregator`, `embedded`. */
  label: string
  /** Where checkpoints live; none: nothing is restored or saved (one-shot analysis). */
  store: Store | undefined
  /** Checkpoint name of a partition, e.g. `classifier.p3`. */
  checkpointName: (partition: number) => string
  /** A stage for a partition, from its saved state (undefined: from the beginning). */
  open: (partition: number, state: S | undefined) => RunnerStage<T, S>
  /**
   * Kafka: commit after every batch (after the last part of one handed over in parts, see
   * BatchMeta.more). Embedded: only when commit() is called (once a second).
   */
  commitEveryBatch: boolean
  logger?: Logger
  /** After a checkpoint was written (metrics). */
  onCommit?: (partition: number, stage: RunnerStage<T, S>) => void
}

interface Partition<T, S> {
  stage: RunnerStage<T, S>
  nextOffset: bigint
  /** Where this partition asked the transport to read from again, once (see handle). */
  sought?: bigint
}

/**
 * The one checkpointed-stage runtime, used by the embedded pipeline (one partition, in-process
 * topics, offsets counted by the caller) and by the classifier and aggregator services (one
 * partition per owned Kafka partition).
 *
 * Per batch: restore the partition from its checkpoint when it has no state (or when its state
 * is older than the batch: another owner moved it on), skip offsets the state covers, read the
 * gap again when the transport is past the state (once), hand the rest to the stage. Commit
 * point: `stage.flush()` (downstream write first), then the checkpoint {next offset, state},
 * then the caller's transport commit (the handler resolving). Any failure drops the partition's
 * state, which may be ahead of what was saved; the next batch restores it from the checkpoint.
 * Batches, ticks and commits of one partition run one at a time.
 */
export class StageRunner<T, S> {
  private readonly parts = new Map<number, Partition<T, S>>()
  private readonly chains = new Map<number, Promise<unknown>>()

  constructor(private readonly opts: StageRunnerOptions<T, S>) {}

  /** The live stage of a partition, if it has one (health, metrics, one-shot summaries). */
  stage(partition: number): RunnerStage<T, S> | undefined {
    return this.parts.get(partition)?.stage
  }

  /** The offset a partition's state covers up to (the next one to handle). */
  position(partition: number): bigint | undefined {
    return this.parts.get(partition)?.nextOffset
  }

  partitions(): number[] {
    return [...this.parts.keys()].sort((a, b) => a - b)
  }

  /** Opens a partition now (the embedded pipeline restores before any input arrives). */
  open(partition: number, first = 0n): Promise<RunnerStage<T, S>> {
    return this.serial(partition, async () => (await this.ensure(partition, first)).stage)
  }

  handle(batch: T[], pos: BatchPosition): Promise<void> {
    const p = pos.partition
    return this.serial(p, async () => {
      const first = BigInt(pos.firstOffset)
      let part = this.parts.get(p)
      // State from an earlier ownership is stale once another owner moved the partition on.
      if (!part || first > part.nextOffset) part = await this.restore(p, first)
      if (first > part.nextOffset && part.sought !== part.nextOffset) {
        // The transport is past the checkpoint (an evicted owner saved an older checkpoint after
        // the newer one): read the gap again rather than leave it out. Once: offsets the topic
        // no longer holds cannot be read again.
        this.opts.logger?.warn(
          `${this.opts.label}: partition ${p} restored at offset ${part.nextOffset} but consumed from ${first}; reading the gap again`,
        )
        part.sought = part.nextOffset
        pos.seek(part.nextOffset.toString())
        return
      }
      const fresh: T[] = []
      // the records of one message share its offset string: one BigInt per message, not per record
      let offset: string | undefined
      let keep = false
      for (let i = 0; i < batch.length; i++) {
        if (pos.offsets[i] !== offset) {
          offset = pos.offsets[i]
          keep = BigInt(offset) >= part.nextOffset
        }
        if (keep) fresh.push(batch[i])
      }
      const next = BigInt(pos.nextOffset)
      if (next <= part.nextOffset) return // all of it is inside the restored state
      await part.stage.handle(fresh)
      part.nextOffset = next
      if (this.opts.commitEveryBatch && !pos.more) await this.commitPart(p, part)
    })
  }

  /**
   * Runs `fn` on a partition's stage between its batches (processing-time ticks); commits when
   * `fn` returns true (it emitted something).
   */
  tick(partition: number, fn: (stage: RunnerStage<T, S>) => Promise<boolean>): Promise<void> {
    return this.serial(partition, async () => {
      const part = this.parts.get(partition)
      if (!part) return
      if (await fn(part.stage)) await this.commitPart(partition, part)
    })
  }

  /** Commit point for a partition: downstream write, then the checkpoint. */
  commit(partition: number): Promise<void> {
    return this.serial(partition, async () => {
      const part = this.parts.get(partition)
      if (part) await this.commitPart(partition, part)
    })
  }

  /** Partitions no longer owned: the next owner restores them from their checkpoints. */
  keepOnly(owned: ReadonlySet<number>): void {
    for (const p of [...this.parts.keys()]) {
      if (owned.has(p)) continue
      void this.serial(p, async () => {
        if (!owned.has(p)) this.parts.delete(p)
      }).catch(() => {})
    }
  }

  /** Resolves when everything queued on every partition has run. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()])
  }

  private async ensure(p: number, first: bigint): Promise<Partition<T, S>> {
    return this.parts.get(p) ?? this.restore(p, first)
  }

  private async restore(p: number, first: bigint): Promise<Partition<T, S>> {
    const raw = this.opts.store ? await getCheckpoint(this.opts.store, this.opts.checkpointName(p)) : undefined
    const cp = raw ? (JSON.parse(raw) as StageCheckpoint<S>) : undefined
    if (cp && cp.v !== 2)
      throw new Error(`${this.opts.label}: checkpoint ${this.opts.checkpointName(p)} has version ${cp.v}, expected 2`)
    const part: Partition<T, S> = cp
      ? { stage: this.opts.open(p, cp.state), nextOffset: BigInt(cp.nextOffset) }
      : { stage: this.opts.open(p, undefined), nextOffset: first }
    if (cp) this.opts.logger?.info(`${this.opts.label}: partition ${p} restored at offset ${cp.nextOffset}`)
    this.parts.set(p, part)
    return part
  }

  private async commitPart(p: number, part: Partition<T, S>): Promise<void> {
    await part.stage.flush()
    const cp: StageCheckpoint<S> = { v: 2, nextOffset: part.nextOffset.toString(), state: part.stage.snapshot() }
    if (this.opts.store) await putCheckpoint(this.opts.store, this.opts.checkpointName(p), JSON.stringify(cp))
    this.opts.onCommit?.(p, part.stage)
  }

  private serial<R>(p: number, fn: () => Promise<R>): Promise<R> {
    const next = (this.chains.get(p) ?? Promise.resolve()).then(async () => {
      try {
        return await fn()
      } catch (err) {
        // The state may be ahead of what was saved: the next batch restores from the checkpoint.
        this.parts.delete(p)
        throw err
      }
    })
    this.chains.set(
      p,
      next.catch(() => {}),
    )
    return next
  }
}
