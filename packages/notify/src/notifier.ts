import { createHash, randomUUID } from 'node:crypto'
import { NotifyConfig, type RcaEvent } from '@connrca/contracts'
import cron, { type ScheduledTask } from 'node-cron'
import { type Clock, systemClock } from './clock.js'
import { backoffDelay } from '@connrca/observe'
import { attemptDelivery, ReceiverLimiter } from './delivery.js'
import { type DigestRow, type IncidentsView, renderPayload, type View } from './formats/index.js'
import { fleetOf } from './fleet.js'
import { groupKeyOf, labelsOf } from './match.js'
import { redactUrl } from './redact.js'
import { NotifyConfigError, type Receiver, type ResolvedConfig, type Route, resolveConfig } from './resolve-config.js'
import { sampleEvent } from './sample.js'
import type {
  AlertState,
  Delivered,
  GroupState,
  JobState,
  NotifyDeadLetter,
  NotifyStateStore,
  StateKind,
  StateRecord,
} from './state.js'

export interface Notifier {
  /** Idempotent per (event id, revision): a revision at or below the known one is ignored. */
  handle(events: RcaEvent[]): Promise<void>
  /** Runs due group flushes (group_wait / group_interval / repeat_interval) and due retries. */
  tick(): Promise<void>
  /** Starts the tick timer and the digest cron jobs. */
  start(): void
  /** Stops timers, waits for in-flight deliveries, persists state. */
  stop(): Promise<void>
  /** One new attempt per pending dead letter. */
  retryDeadLetters(): Promise<{ sent: number; failed: number }>
  /** Counts since start, for metrics. */
  readonly stats: NotifierStats
  /** Sends a sample incident to every receiver of a route, once; throws with every receiver's error. */
  sendTest(routeName: string): Promise<void>
  /** Builds and sends a route's digest now (the cron schedule calls this). */
  runDigest(routeName: string): Promise<void>
}

export interface NotifierStats {
  /** Notifications delivered (first attempt or a retry). */
  sent: number
  /** Attempts that failed (each retry counts). */
  failedAttempts: number
  /** Notifications given up on and stored as dead letters. */
  deadLettered: number
}

export interface NotifierOptions {
  config: NotifyConfig
  state: NotifyStateStore
  clock?: Clock
  fetch?: typeof fetch
  logger?: (line: string) => void
  /** Where `urlEnv` / `secretEnv` are looked up; default process.env. */
  env?: Record<string, string | undefined>
  /** Jitter source, for deterministic tests. */
  random?: () => number
}

const DAY_MS = 24 * 3_600_000

export function createNotifier(opts: NotifierOptions): Notifier {
  const parsed = NotifyConfig.safeParse(opts.config)
  if (!parsed.success)
    throw new NotifyConfigError(
      parsed.error.issues.map((i) => `notify: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('\n'),
    )
  const cfg: ResolvedConfig = resolveConfig(parsed.data, opts.env ?? process.env)
  const clock = opts.clock ?? systemClock
  const doFetch = opts.fetch ?? globalThis.fetch
  const stats: NotifierStats = { sent: 0, failedAttempts: 0, deadLettered: 0 }
  const log = opts.logger ?? (() => {})
  const random = opts.random ?? Math.random
  const store = opts.state
  const routesByName = new Map(cfg.routes.map((r) => [r.name, r]))
  const limiters = new Map<string, ReceiverLimiter>()
  for (const r of cfg.receivers.values())
    limiters.set(r.name, new ReceiverLimiter(r.concurrency, r.minIntervalMs, clock))

  const alerts = new Map<string, AlertState>()
  const groups = new Map<string, GroupState>()
  const jobs = new Map<string, JobState>()
  const inFlight = new Map<string, Promise<void>>()
  const dirty = new Map<string, { kind: StateKind; key: string }>()
  let persistChain: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  const cronTasks: ScheduledTask[] = []

  // The saved state is loaded before anything is sent. A failed load (store unreachable) is
  // reported by the call that awaits it and tried again by the next one.
  let loading: Promise<void> | undefined
  function ready(): Promise<void> {
    loading ??= (async () => {
      for (const rec of await store.load()) {
        const body = JSON.parse(rec.body)
        if (rec.kind === 'alert') alerts.set(rec.key, body as AlertState)
        else if (rec.kind === 'group') groups.set(rec.key, body as GroupState)
        else if (rec.kind === 'job') jobs.set(rec.key, body as JobState)
      }
    })().catch((err) => {
      loading = undefined
      throw err
    })
    return loading
  }
  ready().catch(() => {})

  function markDirty(kind: StateKind, key: string): void {
    dirty.set(`${kind}\u0000${key}`, { kind, key })
  }

  /** Writes every dirty record as it is now (or its deletion); calls are serialised. */
  function persist(): Promise<void> {
    const run = persistChain.then(async () => {
      if (dirty.size === 0) return
      const batch = [...dirty.values()]
      dirty.clear()
      const upserts: StateRecord[] = []
      const deletes: { kind: StateKind; key: string }[] = []
      for (const d of batch) {
        const value = d.kind === 'alert' ? alerts.get(d.key) : d.kind === 'group' ? groups.get(d.key) : jobs.get(d.key)
        if (value) upserts.push({ kind: d.kind, key: d.key, body: JSON.stringify(value) })
        else deletes.push(d)
      }
      try {
        await store.save(upserts, deletes)
      } catch (err) {
        for (const d of batch) markDirty(d.kind, d.key)
        throw err
      }
    })
    persistChain = run.catch(() => {})
    return run
  }

  function persistQuietly(): Promise<void> {
    return persist().catch((err) => log(`notify: could not save notification state: ${(err as Error).message}`))
  }

  // ---- incidents and groups ----

  async function handle(events: RcaEvent[]): Promise<void> {
    await ready()
    const now = clock.now()
    for (const e of events) {
      const prev = alerts.get(e.id)
      if (prev && prev.event.revision >= e.revision) continue
      const a: AlertState = { event: e, receivedAt: now, groups: prev?.groups ?? [] }
      alerts.set(e.id, a)
      markDirty('alert', e.id)
      // A resolve only matters to groups the incident is already in.
      if (e.status === 'resolved') continue
      for (const route of cfg.routes) {
        if (!route.match(e)) continue
        if (!a.groups.some((k) => groups.get(k)?.route === route.name)) joinGroup(a, route, now)
        if (!route.continue) break
      }
    }
    await persist()
  }

  function joinGroup(a: AlertState, route: Route, now: number): void {
    // Grouped by server (the default): incidents with a fleet signature group across servers instead.
    const fleet = route.groupBy.includes('server') ? fleetOf(a.event) : undefined
    const labels = fleet ? { fleet } : labelsOf(a.event, route.groupBy)
    const key = groupKeyOf(route.name, labels)
    let g = groups.get(key)
    if (!g) {
      g = {
        key,
        route: route.name,
        labels,
        alertIds: [],
        createdAt: now,
        nextFlushAt: now + route.groupWaitMs,
        lastFlushAt: null,
        delivered: {},
      }
      groups.set(key, g)
    }
    if (!g.alertIds.includes(a.event.id)) g.alertIds.push(a.event.id)
    if (!a.groups.includes(key)) a.groups.push(key)
    markDirty('group', key)
  }

  function firingSources(): RcaEvent[] {
    const out: RcaEvent[] = []
    if (cfg.inhibit.length === 0) return out
    for (const a of alerts.values()) {
      if (a.event.status !== 'resolved' && cfg.inhibit.some((r) => r.source(a.event))) out.push(a.event)
    }
    return out
  }

  function isInhibited(e: RcaEvent, sources: RcaEvent[]): boolean {
    for (const rule of cfg.inhibit) {
      if (!rule.target(e)) continue
      for (const s of sources) {
        if (s.id !== e.id && rule.source(s) && rule.equal.every((l) => s[l] === e[l])) return true
      }
    }
    return false
  }

  function hasPendingJob(groupKey: string, receiver?: string): boolean {
    for (const j of jobs.values())
      if (j.groupKey === groupKey && (receiver === undefined || j.receiver === receiver)) return true
    return false
  }

  function flushGroups(now: number): void {
    let sources: RcaEvent[] | undefined
    for (const g of [...groups.values()]) {
      if (g.nextFlushAt > now) continue
      const route = routesByName.get(g.route)
      if (!route) {
        // The route left the config: its groups have nobody to notify.
        dropGroup(g)
        continue
      }
      sources ??= firingSources()
      for (const receiver of route.receivers) {
        if (!hasPendingJob(g.key, receiver)) planGroupNotification(g, route, receiver, now, sources)
      }
      g.lastFlushAt = now
      g.nextFlushAt = now + route.groupIntervalMs
      markDirty('group', g.key)
      cleanupGroup(g)
    }
  }

  /** Alertmanager's rule: notify when the visible firing set grew or changed, something resolved, or repeat is due. */
  function planGroupNotification(
    g: GroupState,
    route: Route,
    receiver: string,
    now: number,
    sources: RcaEvent[],
  ): void {
    const prev: Delivered | undefined = g.delivered[receiver]
    const prevFiring = prev?.firing ?? {}
    const firing: RcaEvent[] = []
    const resolved: RcaEvent[] = []
    const nextFiring: Record<string, string> = {}
    for (const id of g.alertIds) {
      const e = alerts.get(id)?.event
      if (!e) continue
      if (e.status === 'resolved') {
        if (id in prevFiring && route.sendResolved) resolved.push(e)
        continue
      }
      if (isInhibited(e, sources)) {
        // Muted, not gone: the receiver still knows it as firing, so no "change" and a later resolve still goes out.
        if (id in prevFiring) nextFiring[id] = prevFiring[id]
        continue
      }
      firing.push(e)
      nextFiring[id] = e.severity
    }
    const added = Object.keys(nextFiring).some((id) => prevFiring[id] !== nextFiring[id])
    const removed = Object.keys(prevFiring).some((id) => !(id in nextFiring))
    const repeatDue = prev !== undefined && firing.length > 0 && now - prev.sentAt >= route.repeatIntervalMs
    if (!added && resolved.length === 0 && !repeatDue) {
      // Nothing to say; only forget incidents that left (resolved without send_resolved, or gone).
      if (removed && prev) {
        g.delivered[receiver] = { ...prev, firing: nextFiring }
        markDirty('group', g.key)
      }
      return
    }
    if (firing.length === 0 && resolved.length === 0) return
    const events = [...firing, ...resolved]
    const contentKey = sha256(
      events
        .map((e) => `${e.id}:${e.revision}:${e.status}`)
        .sort()
        .join(','),
    )
    const repeat = prev && prev.contentKey === contentKey ? prev.repeat + 1 : 0
    const base = events.length === 1 ? `${events[0].id}:${events[0].revision}` : `group:${contentKey.slice(0, 32)}`
    const view: IncidentsView = {
      kind: 'incidents',
      route: route.name,
      receiver,
      groupKey: g.key,
      groupLabels: g.labels,
      status: firing.length > 0 ? 'firing' : 'resolved',
      events,
      sentAt: now,
      externalUrl: cfg.externalUrl,
      test: false,
    }
    enqueue({
      kind: 'incidents',
      route: route.name,
      receiver,
      groupKey: g.key,
      view,
      idempotencyKey: repeat > 0 ? `${base}:repeat${repeat}` : base,
      commit: { firing: nextFiring, sentAt: now, contentKey, repeat },
      now,
    })
  }

  /** Drops resolved incidents nobody still has to hear about; deletes the group once empty. */
  function cleanupGroup(g: GroupState): void {
    if (hasPendingJob(g.key)) return
    const receivers = routesByName.get(g.route)?.receivers ?? []
    const keep = g.alertIds.filter((id) => {
      const a = alerts.get(id)
      if (!a) return false
      if (a.event.status !== 'resolved') return true
      return receivers.some((r) => g.delivered[r] && id in g.delivered[r].firing)
    })
    if (keep.length === g.alertIds.length) return
    for (const id of g.alertIds) {
      if (keep.includes(id)) continue
      const a = alerts.get(id)
      if (a) {
        a.groups = a.groups.filter((k) => k !== g.key)
        markDirty('alert', id)
      }
    }
    g.alertIds = keep
    markDirty('group', g.key)
    if (keep.length === 0) dropGroup(g)
  }

  function dropGroup(g: GroupState): void {
    groups.delete(g.key)
    markDirty('group', g.key)
    for (const id of g.alertIds) {
      const a = alerts.get(id)
      if (a?.groups.includes(g.key)) {
        a.groups = a.groups.filter((k) => k !== g.key)
        markDirty('alert', id)
      }
    }
  }

  function prune(now: number): void {
    const cutoff = now - cfg.retentionMs
    for (const [id, a] of alerts) {
      if (a.receivedAt >= cutoff) continue
      alerts.delete(id)
      markDirty('alert', id)
      for (const key of a.groups) {
        const g = groups.get(key)
        if (!g) continue
        g.alertIds = g.alertIds.filter((x) => x !== id)
        markDirty('group', key)
        if (g.alertIds.length === 0 && !hasPendingJob(key)) dropGroup(g)
      }
    }
  }

  // ---- jobs: one notification to one receiver, until delivered or dead-lettered ----

  function enqueue(p: {
    kind: JobState['kind']
    route: string
    receiver: string
    groupKey: string | null
    view: View
    idempotencyKey: string
    commit: Delivered | null
    now: number
  }): JobState {
    const r = cfg.receivers.get(p.receiver)!
    const job: JobState = {
      id: randomUUID(),
      kind: p.kind,
      route: p.route,
      receiver: p.receiver,
      groupKey: p.groupKey,
      body: JSON.stringify(renderPayload(r.format, p.view)),
      idempotencyKey: p.idempotencyKey,
      attempts: 0,
      nextAttemptAt: p.now,
      createdAt: p.now,
      lastError: null,
      commit: p.commit,
    }
    jobs.set(job.id, job)
    markDirty('job', job.id)
    return job
  }

  function runDueJobs(now: number): Promise<void> {
    const started: Promise<void>[] = []
    for (const j of jobs.values()) {
      if (j.nextAttemptAt > now || inFlight.has(j.id)) continue
      started.push(launch(j))
    }
    return Promise.all(started).then(() => {})
  }

  function launch(j: JobState): Promise<void> {
    const p = attemptJob(j).finally(() => inFlight.delete(j.id))
    inFlight.set(j.id, p)
    return p
  }

  async function attemptJob(j: JobState): Promise<void> {
    const r = cfg.receivers.get(j.receiver)
    if (!r) {
      await finishJob(j, `receiver "${j.receiver}" is no longer configured`)
      return
    }
    const res = await limiters.get(r.name)!.run(() => attemptDelivery(r, j.body, j.idempotencyKey, clock, doFetch))
    j.attempts++
    if (res.ok) stats.sent++
    else stats.failedAttempts++
    if (res.ok) {
      log(`notify: delivered ${j.kind} ${describeJob(j)} to ${where(r)} (attempt ${j.attempts})`)
      await finishJob(j, null)
      return
    }
    j.lastError = res.error
    if (!res.retryable || j.attempts >= r.attempts) {
      log(`notify: giving up after ${j.attempts} attempt(s), dead-lettered: ${res.error}`)
      await finishJob(j, res.error)
      return
    }
    const wait = Math.max(backoffDelay(j.attempts, r.initialBackoffMs, r.maxBackoffMs, random), res.retryAfterMs ?? 0)
    j.nextAttemptAt = clock.now() + wait
    markDirty('job', j.id)
    log(`notify: attempt ${j.attempts} failed, retrying in ${wait} ms: ${res.error}`)
    await persistQuietly()
  }

  /** Delivered (`error` null) or given up: either way the group moves on. */
  async function finishJob(j: JobState, error: string | null): Promise<void> {
    if (error !== null) {
      const now = clock.now()
      const dl: NotifyDeadLetter = {
        id: j.id,
        createdAt: now,
        updatedAt: now,
        route: j.route,
        receiver: j.receiver,
        kind: j.kind,
        groupKey: j.groupKey ?? '',
        idempotencyKey: j.idempotencyKey,
        body: j.body,
        error,
        attempts: j.attempts,
        status: 'pending',
      }
      try {
        await store.putDeadLetters([dl])
        stats.deadLettered++
      } catch (err) {
        // Keep the job so the dead letter is not lost; the next tick tries again.
        j.nextAttemptAt = clock.now() + cfg.tickMs
        markDirty('job', j.id)
        log(`notify: could not store dead letter: ${(err as Error).message}`)
        await persistQuietly()
        return
      }
    }
    jobs.delete(j.id)
    markDirty('job', j.id)
    const g = j.groupKey ? groups.get(j.groupKey) : undefined
    if (g && j.commit) {
      g.delivered[j.receiver] = j.commit
      markDirty('group', g.key)
      cleanupGroup(g)
    }
    await persistQuietly()
  }

  function describeJob(j: JobState): string {
    return j.groupKey ? `for ${j.groupKey}` : `for route ${j.route}`
  }

  function where(r: Receiver): string {
    return `receiver "${r.name}" (${redactUrl(r.url)})`
  }

  async function tick(): Promise<void> {
    await ready()
    const now = clock.now()
    flushGroups(now)
    prune(now)
    await persist()
    await runDueJobs(now)
  }

  // ---- digest ----

  function routeNamed(name: string): Route {
    const route = routesByName.get(name)
    if (!route)
      throw new NotifyConfigError(
        `notify: no route named "${name}" (configured: ${cfg.routes.map((r) => r.name).join(', ') || 'none'})`,
      )
    return route
  }

  function digestRows(route: Route, from: number): DigestRow[] {
    const rows = new Map<string, DigestRow>()
    for (const a of alerts.values()) {
      const e = a.event
      if (!route.match(e)) continue
      if (a.receivedAt < from && e.status === 'resolved') continue
      const key = `${e.server}\u0000${e.category}`
      let row = rows.get(key)
      if (!row) {
        row = {
          server: e.server,
          category: e.category,
          incidents: 0,
          open: 0,
          failures: 0,
          firstFailure: e.firstFailure,
          lastFailure: e.lastFailure,
        }
        rows.set(key, row)
      }
      row.incidents++
      if (e.status !== 'resolved') row.open++
      row.failures += e.count
      row.firstFailure = Math.min(row.firstFailure, e.firstFailure)
      row.lastFailure = Math.max(row.lastFailure, e.lastFailure)
    }
    return [...rows.values()].sort(
      (a, b) => b.failures - a.failures || a.server.localeCompare(b.server) || a.category.localeCompare(b.category),
    )
  }

  async function runDigest(routeName: string): Promise<void> {
    const route = routeNamed(routeName)
    await ready()
    const now = clock.now()
    const from = now - DAY_MS
    const rows = digestRows(route, from)
    if (rows.length === 0 && route.digest && !route.digest.sendEmpty) return
    const created: JobState[] = []
    for (const receiver of route.receivers) {
      created.push(
        enqueue({
          kind: 'digest',
          route: route.name,
          receiver,
          groupKey: null,
          view: {
            kind: 'digest',
            route: route.name,
            receiver,
            from,
            to: now,
            rows,
            sentAt: now,
            externalUrl: cfg.externalUrl,
          },
          idempotencyKey: `digest:${route.name}:${new Date(now).toISOString().slice(0, 16)}`,
          commit: null,
          now,
        }),
      )
    }
    await persist()
    await Promise.all(created.map((j) => launch(j)))
  }

  // ---- operator commands ----

  async function retryDeadLetters(): Promise<{ sent: number; failed: number }> {
    await ready()
    let sent = 0
    let failed = 0
    for (const dl of await store.deadLetters('pending')) {
      const r = cfg.receivers.get(dl.receiver)
      const res = r
        ? await limiters.get(r.name)!.run(() => attemptDelivery(r, dl.body, dl.idempotencyKey, clock, doFetch))
        : ({ ok: false, retryable: false, error: `receiver "${dl.receiver}" is no longer configured` } as const)
      const updated: NotifyDeadLetter = { ...dl, attempts: dl.attempts + 1, updatedAt: clock.now() }
      if (res.ok) {
        updated.status = 'resent'
        sent++
        log(`notify: re-sent dead letter ${dl.id} to ${where(r!)}`)
      } else {
        updated.error = res.error
        failed++
        log(`notify: dead letter ${dl.id} failed again: ${res.error}`)
      }
      await store.putDeadLetters([updated])
    }
    return { sent, failed }
  }

  async function sendTest(routeName: string): Promise<void> {
    const route = routeNamed(routeName)
    const now = clock.now()
    const event = sampleEvent(now)
    const errors: string[] = []
    for (const name of route.receivers) {
      const r = cfg.receivers.get(name)!
      const view: IncidentsView = {
        kind: 'incidents',
        route: route.name,
        receiver: name,
        groupKey: `${route.name}/test`,
        groupLabels: labelsOf(event, route.groupBy),
        status: 'firing',
        events: [event],
        sentAt: now,
        externalUrl: cfg.externalUrl,
        test: true,
      }
      const body = JSON.stringify(renderPayload(r.format, view))
      const res = await limiters.get(name)!.run(() => attemptDelivery(r, body, `test:${now}`, clock, doFetch))
      if (res.ok) log(`notify: test message delivered to ${where(r)} (HTTP ${res.status})`)
      else errors.push(res.error)
    }
    if (errors.length) throw new Error(`notify test for route "${route.name}" failed:\n${errors.join('\n')}`)
  }

  // ---- lifecycle ----

  function start(): void {
    if (timer) return
    timer = setInterval(() => {
      tick().catch((err) => log(`notify: tick failed: ${(err as Error).message}`))
    }, cfg.tickMs)
    timer.unref()
    for (const route of cfg.routes) {
      if (!route.digest) continue
      cronTasks.push(
        cron.schedule(
          route.digest.schedule,
          () => runDigest(route.name).catch((err) => log(`notify: digest for ${route.name} failed: ${err.message}`)),
          { name: `connrca-digest-${route.name}`, timezone: route.digest.timezone, noOverlap: true },
        ),
      )
    }
  }

  async function stop(): Promise<void> {
    if (timer) clearInterval(timer)
    timer = undefined
    for (const t of cronTasks.splice(0)) await t.destroy()
    await loading?.catch(() => {})
    await Promise.allSettled([...inFlight.values()])
    await persist()
  }

  return { handle, tick, start, stop, retryDeadLetters, sendTest, runDigest, stats }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex')
}
