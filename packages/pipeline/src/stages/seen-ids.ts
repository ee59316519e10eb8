import type { ConnectionEvent } from '@connrca/contracts'

export type SeenIdsState = [server: string, ids: [id: string, time: number][], sources?: [name: string, position: number][]][]

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
  private readonly servers = new Map<
    string,
    { max: number; ids: Map<string, number>; sources: Map<string, number> }
  >()

  constructor(private readonly horizonMs: number) {}

  /** True the second time an id is offered (or, past the horizon, a position its source passed). */
  duplicate(e: ConnectionEvent): boolean {
    let s = this.servers.get(e.server)
    if (!s) this.servers.set(e.server, (s = { max: Number.NEGATIVE_INFINITY, ids: new Map(), sources: new Map() }))
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
    return false
  }

  /**
   * Forgets ids behind the horizon, oldest insertion first, up to the first one still inside: a
   * server's events arrive nearly in time order, so this visits what it deletes and not every id
   * at every checkpoint (a Kafka aggregator checkpoints after each batch: visiting all ids was 4 %
   * of its CPU). An id held longer behind a later one only makes a replay of it a duplicate.
   */
  prune(): void {
    for (const s of this.servers.values()) {
      const limit = s.max - this.horizonMs
      for (const [id, t] of s.ids) {
        if (t >= limit) break
        s.ids.delete(id)
      }
    }
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
      out.servers.set(server, { max, ids: m, sources: new Map(sources ?? []) })
    }
    return out
  }
}
