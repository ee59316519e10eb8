import { CATEGORIES, type Category } from '@connrca/contracts'
import type { CategoryAgg, WindowState } from './window-state.js'

/** Per-server state. Bounded by the windows still open or updatable, never by events. */
export interface KeyState {
  server: string
  /** Highest event time seen (−∞ before the first event). */
  maxTime: number
  wm: number
  /** Processing time of the last event; undefined until known. */
  lastActivity: number | undefined
  windows: Map<number, WindowState>
  /** Smallest end among windows not fired yet (+∞ when none). */
  nextFire: number
  /** Smallest end among fired windows still held (+∞ when none). */
  nextPurge: number
}

export function newKey(server: string): KeyState {
  const inf = Number.POSITIVE_INFINITY
  return {
    server,
    maxTime: Number.NEGATIVE_INFINITY,
    wm: Number.NEGATIVE_INFINITY,
    lastActivity: undefined,
    windows: new Map(),
    nextFire: inf,
    nextPurge: inf,
  }
}

type Pairs = [string, number][]

interface AggJson {
  category: Category
  failures: number
  first: number
  last: number
  clients: Pairs
  users: Pairs
  databases: Pairs
  reasons: Pairs
  samples: string[]
  revision: number
  dirty: boolean
}
interface WindowJson {
  start: number
  end: number
  attempts: number
  fired: boolean
  cats: AggJson[]
}
interface KeyJson {
  server: string
  /** null stands for −∞ (JSON has no infinities). */
  maxTime: number | null
  wm: number | null
  lastActivity: number | null
  windows: WindowJson[]
}
export interface WindowingSnapshot {
  format: 'connrca.windowing.v1'
  lateDropped: number
  clock: number | null
  keys: KeyJson[]
}

const finiteOrNull = (n: number): number | null => (Number.isFinite(n) ? n : null)

export function toSnapshot(
  keys: Iterable<KeyState>,
  lateDropped: number,
  clock: number | undefined,
): WindowingSnapshot {
  const out: KeyJson[] = []
  for (const k of keys) {
    const windows: WindowJson[] = []
    for (const w of k.windows.values()) {
      const cats: AggJson[] = []
      for (const [category, a] of w.cats) {
        cats.push({
          category,
          failures: a.failures,
          first: a.first,
          last: a.last,
          clients: [...a.clients],
          users: [...a.users],
          databases: [...a.databases],
          reasons: [...a.reasons],
          samples: a.samples.slice(),
          revision: a.revision,
          dirty: a.dirty,
        })
      }
      windows.push({ start: w.start, end: w.end, attempts: w.attempts, fired: w.fired, cats })
    }
    out.push({
      server: k.server,
      maxTime: finiteOrNull(k.maxTime),
      wm: finiteOrNull(k.wm),
      lastActivity: k.lastActivity ?? null,
      windows,
    })
  }
  return { format: 'connrca.windowing.v1', lateDropped, clock: clock ?? null, keys: out }
}

function bad(what: string): never {
  throw new Error(`windowing: cannot restore checkpoint: ${what}`)
}

export function fromSnapshot(state: unknown): { lateDropped: number; clock: number | undefined; keys: KeyState[] } {
  const s = state as Partial<WindowingSnapshot> | null
  if (!s || typeof s !== 'object' || s.format !== 'connrca.windowing.v1') bad('not a connrca.windowing.v1 snapshot')
  if (typeof s.lateDropped !== 'number' || !Array.isArray(s.keys)) bad('missing lateDropped or keys')
  const keys = s.keys.map((kj) => {
    if (typeof kj?.server !== 'string' || !Array.isArray(kj.windows)) bad('a key without server or windows')
    const k = newKey(kj.server)
    k.maxTime = kj.maxTime ?? Number.NEGATIVE_INFINITY
    k.wm = kj.wm ?? Number.NEGATIVE_INFINITY
    k.lastActivity = kj.lastActivity ?? undefined
    for (const wj of kj.windows) {
      const cats = new Map<Category, CategoryAgg>()
      for (const aj of wj.cats) {
        if (!CATEGORIES.includes(aj.category)) bad(`unknown category "${aj.category}"`)
        cats.set(aj.category, {
          failures: aj.failures,
          first: aj.first,
          last: aj.last,
          clients: new Map(aj.clients),
          users: new Map(aj.users),
          databases: new Map(aj.databases),
          reasons: new Map(aj.reasons),
          samples: aj.samples.slice(),
          revision: aj.revision,
          dirty: aj.dirty,
        })
      }
      k.windows.set(wj.start, { start: wj.start, end: wj.end, attempts: wj.attempts, fired: wj.fired, cats })
      if (wj.fired) k.nextPurge = Math.min(k.nextPurge, wj.end)
      else k.nextFire = Math.min(k.nextFire, wj.end)
    }
    return k
  })
  return { lateDropped: s.lateDropped, clock: s.clock ?? undefined, keys }
}
