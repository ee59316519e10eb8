import {
  CATEGORIES,
  type Category,
  type ConnectionEvent,
  topEntries,
  type WindowCount,
  type WindowTallies,
} from '@connrca/contracts'
import { bump } from './counter.js'

/** Failures of one category inside one window of one server. */
export interface CategoryAgg {
  failures: number
  first: number
  last: number
  clients: Map<string, number>
  users: Map<string, number>
  databases: Map<string, number>
  reasons: Map<string, number>
  samples: string[]
  /** Revisions emitted so far (0 = never emitted). */
  revision: number
  /** Changed since the last emission. */
  dirty: boolean
}

/** One event-time window [start, end) of one server. */
export interface WindowState {
  start: number
  end: number
  /** Connections received (all categories share it). */
  attempts: number
  /** The watermark has passed `end` and revision 1 has gone out (or would have, had it failures). */
  fired: boolean
  cats: Map<Category, CategoryAgg>
}

export function newWindow(start: number, end: number, fired: boolean): WindowState {
  return { start, end, attempts: 0, fired, cats: new Map() }
}

function newAgg(time: number): CategoryAgg {
  return {
    failures: 0,
    first: time,
    last: time,
    clients: new Map(),
    users: new Map(),
    databases: new Map(),
    reasons: new Map(),
    samples: [],
    revision: 0,
    dirty: false,
  }
}

/** Applies a `received` or categorised `failed` event to the window. */
export function applyEvent(w: WindowState, e: ConnectionEvent, maxSamples: number): void {
  if (e.outcome === 'received') {
    w.attempts++
    // Attempts are shown on every category of the window, so those emissions are stale now.
    for (const agg of w.cats.values()) agg.dirty = true
    return
  }
  const category = e.category as Category
  let agg = w.cats.get(category)
  if (agg === undefined) {
    agg = newAgg(e.time)
    w.cats.set(category, agg)
  }
  agg.failures++
  if (e.time < agg.first) agg.first = e.time
  if (e.time > agg.last) agg.last = e.time
  bump(agg.clients, e.clientIp)
  bump(agg.users, e.user)
  bump(agg.databases, e.database)
  bump(agg.reasons, e.reason ?? category)
  if (agg.samples.length < maxSamples && e.message && !agg.samples.includes(e.message)) agg.samples.push(e.message)
  agg.dirty = true
}

/** Emits one WindowCount per category whose counts changed since the last emission, categories in contract order. */
export function emitDirty(
  server: string,
  w: WindowState,
  topN: number,
  emit: (c: WindowCount, all: WindowTallies) => void,
): number {
  let n = 0
  for (const category of CATEGORIES) {
    const agg = w.cats.get(category)
    if (agg === undefined || !agg.dirty || agg.failures === 0) continue
    agg.dirty = false
    agg.revision++
    n++
    const all: WindowTallies = {
      clients: topEntries(agg.clients, Number.POSITIVE_INFINITY),
      users: topEntries(agg.users, Number.POSITIVE_INFINITY),
      databases: topEntries(agg.databases, Number.POSITIVE_INFINITY),
    }
    emit(
      {
        server,
        category,
        windowStart: w.start,
        windowEnd: w.end,
        failures: agg.failures,
        attempts: w.attempts,
        distinctClients: agg.clients.size,
        firstFailure: agg.first,
        lastFailure: agg.last,
        // Reasons are a short closed vocabulary: keep them all so sums across windows stay exact.
        reasons: topEntries(agg.reasons, Number.POSITIVE_INFINITY),
        topClients: all.clients.slice(0, topN),
        topUsers: all.users.slice(0, topN),
        topDatabases: all.databases.slice(0, topN),
        revision: agg.revision,
        sampleMessages: agg.samples.slice(),
      },
      all,
    )
  }
  return n
}

export function hasDirty(w: WindowState): boolean {
  for (const agg of w.cats.values()) if (agg.dirty && agg.failures > 0) return true
  return false
}
