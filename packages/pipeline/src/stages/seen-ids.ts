import type { ConnectionEvent } from '@connrca/contracts'

export type SeenIdsState = [
  server: string,
  ids: [id: string, time: number][],
  sources?: [name: string, position: number][],
][]

/**
 * Ids of the events a stage's windows still hold, per server: a record re-published by a
 * classifier that died before committing arrives twice on the connections topic, and only the
 * first may count. Older events need no entry: their windows are purged, so the window
 * aggregator drops them anyway (horizon = allowed lateness + window length behind the newest).
 * Dropped, yes, but not as *late*: a re-published batch can reach further back than the horizon
 * (a frame holds minutes of a server's log), and counting it as late would report lost events
 * where nothing was lost. So per server and source the highest numeric position is kept too:
 * positions only grow along a source (file offsets, stream sequences across restarts), so an
 * old event from a position its source already passed is a re-publication, a late one is not.
 * (A path that starts again at 0 after a rotation can make a late event of the new file count as
 * a duplicate: the metric may mislabel it, the counts are right either way.)
 */
export class SeenIds {
  private readonly servers = new Map<string, ServerIds>()

  constructor(private readonly horizonMs: number) {}

  /** True the second time an id is offered (or, past the horizon, a position its source passed). */
  duplicate(e: ConnectionEvent): boolean {
    let s = this.servers.get(e.server)
    if (!s) this.servers.set(e.server, (s = serverIds(Number.NEGATIVE_INFINITY, new Map(), new Map())))
    if (s.ids.has(e.id)) return true
    const position = typeof e.source?.position === 'number' ? e.source.position : undefined
    if (e.time < s.max - this.horizonMs) {
      // purged window: dropped downstream; counted as late unless it is a replay
      return position !== undefined && position <= (s.sources.get(e.source!.name) ?? Number.NEGATIVE_INFINITY)
    }
    s.ids.set(e.id, e.time)
    if (e.time > s.max) s.max = e.time
    if (position !== undefined && position > (s.sources.get(e.source!.name) ?? Number.NEGATIVE_INFINITY)) {
      s.sources.set(e.source!.name, position)
    }
    if (s.ids.size >= s.pruneAt) this.pruneServer(s)
    return false
  }

  /** Forgets the ids behind the horizon (before a snapshot; duplicate() also does it as they accumulate). */
  prune(): void {
    for (const s of this.servers.values()) this.pruneServer(s)
  }

  /**
   * Forgets ids behind the horizon, oldest insertion first, up to the first one still inside: a
   * server's events arrive nearly in time order, so this visits what it deletes and not every id
   * at every checkpoint (a Kafka aggregator checkpoints after each batch: visiting all ids was 4 %
   * of its CPU). An id held longer behind a later one only makes a replay of it a duplicate.
   * Run whenever a server's ids have doubled, not only at a checkpoint: a batch between two
   * checkpoints holds thousands of events of a server, and Maps grown by a checkpoint's worth and
   * emptied again cost 250 ns per event against 105 with the ids kept near the horizon (8
   * servers, a checkpoint every 40 000 events, 376 000 events on one core). Forgetting sooner
   * changes no answer for numeric positions: an id that was offered also raised its source's
   * position to at least its own, so its replay is a duplicate by position once the id is gone.
   */
  private pruneServer(s: ServerIds): void {
    const limit = s.max - this.horizonMs
    for (const [id, t] of s.ids) {
      if (t >= limit) break
      s.ids.delete(id)
    }
    s.pruneAt = Math.max(PRUNE_AT_LEAST, 2 * s.ids.size)
  }

  snapshot(): SeenIdsState {
    return [...this.servers].map(([server, s]) => [server, [...s.ids], [...s.sources]])
  }

  static restore(horizonMs: number, seen: SeenIdsState): SeenIds {
    const out = new SeenIds(horizonMs)
    for (const [server, ids, sources] of seen) {
      const m = new Map(ids)
      let max = Number.NEGATIVE_INFINITY
      for (const t of m.values()) if (t > max) max = t
      out.servers.set(server, serverIds(max, m, new Map(sources ?? [])))
    }
    return out
  }
}

/** Ids a server holds before duplicate() first looks for ids behind the horizon. */
const PRUNE_AT_LEAST = 1024

interface ServerIds {
  /** Newest event time offered. */
  max: number
  /** id → event time, in insertion order */
  ids: Map<string, number>
  /** source name → highest numeric position offered */
  sources: Map<string, number>
  /** duplicate() prunes when ids reach this size */
  pruneAt: number
}

function serverIds(max: number, ids: Map<string, number>, sources: Map<string, number>): ServerIds {
  return { max, ids, sources, pruneAt: Math.max(PRUNE_AT_LEAST, 2 * ids.size) }
}
