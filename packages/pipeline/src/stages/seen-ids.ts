import type { ConnectionEvent } from '@connrca/contracts'

export type SeenIdsState = [server: string, ids: [id: string, time: number][]][]

/**
 * Ids of the events a stage's windows still hold, per server: a record re-published by a
 * classifier that died before committing arrives twice on the connections topic, and only the
 * first may count. Older events need no entry: their windows are purged, so the window
 * aggregator drops them anyway (horizon = allowed lateness + window length behind the newest).
 */
export class SeenIds {
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

  snapshot(): SeenIdsState {
    return [...this.servers].map(([server, s]) => [server, [...s.ids]])
  }

  static restore(horizonMs: number, seen: SeenIdsState): SeenIds {
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
