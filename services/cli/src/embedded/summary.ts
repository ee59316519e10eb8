import {
  type Category,
  type ConnectionEvent,
  type Outcome,
  type RcaEvent,
  type TopEntry,
  topEntries,
} from '@connrca/contracts'

const TOP_N = 5

interface CategoryTally {
  failures: number
  reasons: Map<string, number>
  clients: Map<string, number>
  users: Map<string, number>
  databases: Map<string, number>
}

/** Totals for `connrca analyze`: per outcome, per category, with top clients/users/databases. */
export class Summary {
  readonly outcomes: Record<Outcome, number> = { received: 0, authorized: 0, failed: 0, closed: 0 }
  private readonly categories = new Map<Category, CategoryTally>()
  readonly rca = new Map<string, RcaEvent>()
  /** performance.now() when the last RCA event arrived. */
  lastRcaAt: number | undefined

  readonly onEvents = async (events: ConnectionEvent[]): Promise<void> => {
    const o = this.outcomes
    for (const e of events) {
      // named increments: one inline cache each, not a keyed store that sees four keys
      switch (e.outcome) {
        case 'received':
          o.received++
          continue
        case 'authorized':
          o.authorized++
          continue
        case 'closed':
          o.closed++
          continue
        default:
          o.failed++
      }
      if (!e.category) continue
      let t = this.categories.get(e.category)
      if (!t) {
        t = { failures: 0, reasons: new Map(), clients: new Map(), users: new Map(), databases: new Map() }
        this.categories.set(e.category, t)
      }
      t.failures++
      bump(t.reasons, e.reason)
      bump(t.clients, e.clientIp)
      bump(t.users, e.user)
      bump(t.databases, e.database)
    }
  }

  /** Keeps the latest revision of each incident. */
  readonly onRca = async (events: RcaEvent[]): Promise<void> => {
    if (events.length) this.lastRcaAt = performance.now()
    for (const e of events) {
      const prev = this.rca.get(e.id)
      if (!prev || prev.revision < e.revision) this.rca.set(e.id, e)
    }
  }

  toJSON(extra: { lines?: number; records: number; unparsed: number; lateDropped: number }) {
    const totals: Record<
      string,
      { failures: number; reasons: TopEntry[]; topClients: TopEntry[]; topUsers: TopEntry[]; topDatabases: TopEntry[] }
    > = {}
    // equal counts by name, as incidents below by id: the report must not depend on arrival order
    for (const [category, t] of [...this.categories].sort(
      (a, b) => b[1].failures - a[1].failures || (a[0] < b[0] ? -1 : 1),
    )) {
      totals[category] = {
        failures: t.failures,
        reasons: topEntries(t.reasons, 100),
        topClients: topEntries(t.clients, TOP_N),
        topUsers: topEntries(t.users, TOP_N),
        topDatabases: topEntries(t.databases, TOP_N),
      }
    }
    // servers failing in the same millisecond: by id
    const incidents = [...this.rca.values()].sort((a, b) => a.firstFailure - b.firstFailure || (a.id < b.id ? -1 : 1))
    return { ...extra, outcomes: this.outcomes, totals, incidents }
  }
}

function bump(m: Map<string, number>, key: string | undefined) {
  if (key !== undefined) m.set(key, (m.get(key) ?? 0) + 1)
}
