import type { Category, RcaEvent, RcaStatus, ServerInfo, TopEntry, WindowCount, WindowTallies } from '@connrca/contracts'
import { CATEGORIES, topEntries } from '@connrca/contracts'
import { diagnose } from './diagnosis/index.js'
import type { EvidenceCollector } from './diagnosis/evidence.js'
import { persistenceOf, RECURRENCE_WINDOW_MS, severityOf } from './classify.js'
import { incidentId } from './incident-id.js'
import { addInto } from './merge.js'
import { renderRca } from './render.js'

export interface RcaOptions {
  /** Window size of the WindowCounts fed in; in hopping mode only windows aligned to it are used. */
  windowMs: number
  /** Failures per window at or above which a window belongs to an incident (default 1). */
  thresholds?: Partial<Record<Category, number>>
  servers?: ServerInfo[]
  /** Failures from which a lasting blocking incident is critical (default 100). */
  criticalCount?: number
  /** Entries in the top lists of an RcaEvent (default 5). */
  topN?: number
  /** Fed with every connection event by the caller; each revision is diagnosed from it. */
  evidence?: EvidenceCollector
  /** Learned thresholds (baselines); replaces `thresholds`, which it uses as its floor. */
  thresholdFor?: (server: string, category: Category, windowStart: number) => number
}

/** The latest revision of one window inside an incident. */
interface WindowRec {
  start: number
  end: number
  failures: number
  attempts: number
  first: number
  last: number
  reasons: TopEntry[]
  clients: TopEntry[]
  users: TopEntry[]
  databases: TopEntry[]
  samples: string[]
}

/** Windows too old to receive late revisions, merged; keeps long incidents small. */
interface Folded {
  count: number
  attempts: number
  first: number
  last: number
  reasons: TopEntry[]
  clients: TopEntry[]
  users: TopEntry[]
  databases: TopEntry[]
  samples: string[]
  windows: { start: number; end: number; failures: number }[]
}

interface Incident {
  id: string
  server: string
  category: Category
  /** Start of the first window: part of the id. */
  start: number
  /** End of the last failing window. */
  lastEnd: number
  recs: WindowRec[]
  folded: Folded | null
  revision: number
  status: RcaStatus
  /** Earlier incidents of this cause on this server within 24 h before `start`. */
  earlier: number
}

interface CauseState {
  open?: Incident
  /** The most recent resolved incident: late revisions can still update or reopen it. */
  last?: Incident
  /** Start times of earlier incidents (for `recurring`), pruned to 24 h. */
  history: number[]
}

const DETAILED_WINDOWS = 48
const WINDOWS_IN_EVENT = 288
/**
 * Distinct values kept per list of an incident's folded windows (older than DETAILED_WINDOWS):
 * the top lists are exact below it; beyond, values past the cap in one fold are dropped (an
 * incident with more than 100,000 distinct clients, users or databases in its old windows).
 */
const MAP_CAP = 100_000
const SAMPLES = 5

export interface RcaSnapshot {
  format: 'connrca.rca.v1'
  causes: { server: string; category: Category; state: CauseState }[]
}

/**
 * Turns window counts into incidents: a run of consecutive windows in which one server fails for
 * one category at or above the threshold. Emits `open`, `updated` (each new or revised window) and
 * `resolved` (the next window closed below the threshold) RcaEvents with increasing revisions.
 */
export class IncidentTracker {
  private readonly causes = new Map<string, Map<Category, CauseState>>()
  private readonly info = new Map<string, ServerInfo>()
  private readonly topN: number
  private readonly criticalCount: number

  constructor(
    private readonly opts: RcaOptions,
    private readonly emit: (e: RcaEvent) => void,
  ) {
    if (!Number.isInteger(opts.windowMs) || opts.windowMs <= 0) {
      throw new Error(`rca: windowMs must be a positive integer of ms, got ${opts.windowMs}`)
    }
    for (const s of opts.servers ?? []) this.info.set(s.name, s)
    this.topN = opts.topN ?? 5
    this.criticalCount = opts.criticalCount ?? 100
  }

  /** `all`: the window's complete tallies (exact incident top lists); without it, its top lists. */
  onWindow(w: WindowCount, all?: WindowTallies): void {
    const W = this.opts.windowMs
    // Hopping mode: only the tumbling-equivalent windows make incidents (overlaps would double count).
    if (w.windowEnd - w.windowStart !== W || w.windowStart % W !== 0) return
    // Windows of one server come in time order: everything of this server ending by this start is final.
    this.resolveDue(w.server, w.windowStart)
    const cs = this.cause(w.server, w.category)
    const threshold = this.opts.thresholdFor
      ? this.opts.thresholdFor(w.server, w.category, w.windowStart)
      : (this.opts.thresholds?.[w.category] ?? 1)
    const failing = w.failures >= threshold
    const inc = cs.open
    if (inc) {
      if (w.windowStart >= inc.start && w.windowStart < inc.lastEnd) {
        this.put(inc, w, all)
        this.send(inc, 'updated', w.windowEnd)
      } else if (w.windowStart === inc.lastEnd) {
        if (failing) {
          this.put(inc, w, all)
          this.send(inc, 'updated', w.windowEnd)
        } else {
          this.resolve(cs, w.windowEnd)
        }
      }
      // A window before the incident's start is not merged: the id must stay the same.
      return
    }
    const last = cs.last
    if (last && w.windowStart >= last.start && w.windowStart < last.lastEnd) {
      this.put(last, w, all)
      this.send(last, 'resolved', last.lastEnd + W)
    } else if (last && w.windowStart === last.lastEnd && failing) {
      // The quiet window was not quiet after all (late data): the incident goes on.
      cs.open = last
      cs.last = undefined
      this.put(last, w, all)
      this.send(last, 'updated', w.windowEnd)
    } else if (failing) {
      const earlier = cs.history.filter((s) => s < w.windowStart && s >= w.windowStart - RECURRENCE_WINDOW_MS).length
      cs.history = cs.history.filter((s) => s >= w.windowStart - RECURRENCE_WINDOW_MS)
      cs.history.push(w.windowStart)
      const next: Incident = {
        id: incidentId(w.server, w.category, w.windowStart),
        server: w.server,
        category: w.category,
        start: w.windowStart,
        lastEnd: w.windowStart,
        recs: [],
        folded: null,
        revision: 0,
        status: 'open',
        earlier,
      }
      cs.open = next
      this.put(next, w, all)
      this.send(next, 'open', w.windowEnd)
    }
  }

  /**
   * Watermark advance: incidents whose next window has closed without a failing window resolve.
   * Pass one number for all servers (a low watermark), a number with `server`, or a per-server map.
   */
  onWatermark(watermarkMs: number | ReadonlyMap<string, number>, server?: string): void {
    if (typeof watermarkMs !== 'number') {
      for (const [s, wm] of watermarkMs) this.resolveDue(s, wm)
    } else if (server !== undefined) {
      this.resolveDue(server, watermarkMs)
    } else {
      for (const s of this.causes.keys()) this.resolveDue(s, watermarkMs)
    }
  }

  /**
   * End of input. Incidents whose quiet window the given watermarks prove resolve; the others stay
   * open: a log that ends mid-incident says nothing about whether it went on. Their latest state has
   * already been emitted, so nothing else is sent.
   */
  flushAll(watermarks?: number | ReadonlyMap<string, number>): void {
    if (watermarks !== undefined) this.onWatermark(watermarks)
  }

  /** Incidents currently open (for metrics). */
  get openIncidents(): number {
    let n = 0
    for (const m of this.causes.values()) for (const cs of m.values()) if (cs.open) n++
    return n
  }

  snapshot(): unknown {
    const causes: RcaSnapshot['causes'] = []
    for (const [server, m] of this.causes) for (const [category, state] of m) causes.push({ server, category, state })
    return JSON.parse(JSON.stringify({ format: 'connrca.rca.v1', causes } satisfies RcaSnapshot))
  }

  static restore(opts: RcaOptions, emit: (e: RcaEvent) => void, state: unknown): IncidentTracker {
    const t = new IncidentTracker(opts, emit)
    const s = state as Partial<RcaSnapshot> | null
    if (s?.format !== 'connrca.rca.v1' || !Array.isArray(s.causes)) {
      throw new Error('rca: cannot restore checkpoint: not a connrca.rca.v1 snapshot')
    }
    for (const c of JSON.parse(JSON.stringify(s.causes)) as RcaSnapshot['causes']) {
      if (!CATEGORIES.includes(c.category))
        throw new Error(`rca: cannot restore checkpoint: unknown category "${c.category}"`)
      t.cause(c.server, c.category).open = c.state.open
      t.cause(c.server, c.category).last = c.state.last
      t.cause(c.server, c.category).history = c.state.history ?? []
    }
    return t
  }

  private cause(server: string, category: Category): CauseState {
    let m = this.causes.get(server)
    if (!m) this.causes.set(server, (m = new Map()))
    let cs = m.get(category)
    if (!cs) m.set(category, (cs = { history: [] }))
    return cs
  }

  private resolveDue(server: string, upTo: number): void {
    const m = this.causes.get(server)
    if (!m) return
    // Category order keeps the output deterministic.
    for (const category of CATEGORIES) {
      const cs = m.get(category)
      const inc = cs?.open
      if (cs && inc && inc.lastEnd + this.opts.windowMs <= upTo) this.resolve(cs, inc.lastEnd + this.opts.windowMs)
    }
  }

  private resolve(cs: CauseState, at: number): void {
    const inc = cs.open!
    cs.open = undefined
    cs.last = inc
    this.send(inc, 'resolved', at)
  }

  /** Inserts or replaces the window's latest revision. */
  private put(inc: Incident, w: WindowCount, all: WindowTallies | undefined): void {
    const rec: WindowRec = {
      start: w.windowStart,
      end: w.windowEnd,
      failures: w.failures,
      attempts: w.attempts,
      first: w.firstFailure,
      last: w.lastFailure,
      reasons: w.reasons,
      clients: all?.clients ?? w.topClients,
      users: all?.users ?? w.topUsers,
      databases: all?.databases ?? w.topDatabases,
      samples: w.sampleMessages ?? [],
    }
    const i = inc.recs.findIndex((r) => r.start === w.windowStart)
    if (i >= 0) inc.recs[i] = rec
    else if (inc.folded && w.windowStart < inc.recs[0]?.start) {
      // Revision of a folded window (only with unusually long lateness): adjust the counts only.
      const fw = inc.folded.windows.find((x) => x.start === w.windowStart)
      if (fw) {
        inc.folded.count += w.failures - fw.failures
        fw.failures = w.failures
      }
    } else {
      inc.recs.push(rec)
      inc.recs.sort((a, b) => a.start - b.start)
    }
    if (w.windowEnd > inc.lastEnd) inc.lastEnd = w.windowEnd
    while (inc.recs.length > DETAILED_WINDOWS) this.fold(inc, inc.recs.shift()!)
  }

  private fold(inc: Incident, r: WindowRec): void {
    const f: Folded = inc.folded ?? {
      count: 0,
      attempts: 0,
      first: r.first,
      last: r.last,
      reasons: [],
      clients: [],
      users: [],
      databases: [],
      samples: [],
      windows: [],
    }
    f.count += r.failures
    f.attempts += r.attempts
    f.first = Math.min(f.first, r.first)
    f.last = Math.max(f.last, r.last)
    const merge = (a: TopEntry[], b: TopEntry[]) => {
      const m = new Map<string, number>()
      addInto(m, a)
      addInto(m, b)
      return topEntries(m, MAP_CAP)
    }
    f.reasons = merge(f.reasons, r.reasons)
    f.clients = merge(f.clients, r.clients)
    f.users = merge(f.users, r.users)
    f.databases = merge(f.databases, r.databases)
    for (const s of r.samples) if (f.samples.length < SAMPLES && !f.samples.includes(s)) f.samples.push(s)
    f.windows.push({ start: r.start, end: r.end, failures: r.failures })
    inc.folded = f
  }

  private send(inc: Incident, status: RcaStatus, emittedAt: number): void {
    inc.revision++
    inc.status = status
    const f = inc.folded
    let count = f?.count ?? 0
    let attempts = f?.attempts ?? 0
    let first = f?.first ?? Number.POSITIVE_INFINITY
    let last = f?.last ?? Number.NEGATIVE_INFINITY
    const reasons = new Map<string, number>()
    const clients = new Map<string, number>()
    const users = new Map<string, number>()
    const databases = new Map<string, number>()
    const samples: string[] = f ? f.samples.slice() : []
    if (f) {
      addInto(reasons, f.reasons)
      addInto(clients, f.clients)
      addInto(users, f.users)
      addInto(databases, f.databases)
    }
    for (const r of inc.recs) {
      count += r.failures
      attempts += r.attempts
      first = Math.min(first, r.first)
      last = Math.max(last, r.last)
      addInto(reasons, r.reasons)
      addInto(clients, r.clients)
      addInto(users, r.users)
      addInto(databases, r.databases)
      for (const s of r.samples) if (samples.length < SAMPLES && !samples.includes(s)) samples.push(s)
    }
    const windows = [
      ...(f?.windows ?? []),
      ...inc.recs.map((r) => ({ start: r.start, end: r.end, failures: r.failures })),
    ].slice(-WINDOWS_IN_EVENT)
    const persistence = persistenceOf(last - first, inc.earlier)
    const topClients = topEntries(clients, this.topN)
    const topUsers = topEntries(users, this.topN)
    const topDatabases = topEntries(databases, this.topN)
    const info = this.info.get(inc.server)
    const hypotheses = this.opts.evidence
      ? diagnose(
          this.opts.evidence.evidenceFor(inc.server, inc.category, inc.start, inc.lastEnd, emittedAt),
          info?.flavour,
        )
      : undefined
    const rendered = renderRca(
      {
        server: inc.server,
        category: inc.category,
        count,
        attempts,
        firstFailure: first,
        lastFailure: last,
        persistence,
        status,
        topClients,
        topUsers,
        topDatabases,
        earlierIncidents: inc.earlier,
        clientIps: [...clients.keys()],
        hypotheses,
      },
      info,
    )
    this.emit({
      schema: 'connrca.rca.v1',
      id: inc.id,
      revision: inc.revision,
      status,
      server: inc.server,
      category: inc.category,
      count,
      attempts,
      firstFailure: first,
      lastFailure: last,
      windows,
      reasons: topEntries(reasons, 20),
      topClients,
      topUsers,
      topDatabases,
      sampleMessages: samples,
      persistence,
      severity: severityOf(inc.category, persistence, count, attempts, this.criticalCount),
      title: rendered.title,
      text: rendered.text,
      steps: rendered.steps,
      ...(rendered.suggestion ? { suggestion: rendered.suggestion } : {}),
      ...(hypotheses?.length ? { hypotheses } : {}),
      emittedAt,
    })
  }
}
