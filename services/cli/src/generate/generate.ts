import type { Category } from '@connrca/contracts'
import { MinHeap } from './heap.js'
import { defaultIncidents, profileFor, serverNames } from './profiles.js'
import { Rng, streamSeed } from './prng.js'
import { type Renderer, rendererFor } from './render.js'
import { background, incidentAttempts, Kind, normalTraffic, poolSessions, type SimRecord } from './streams.js'
import type { GenerateOptions, GroundTruth, InjectedIncident, ServerProfile } from './types.js'

const WINDOW_MS = 5 * 60_000
const DEFAULT_SEED = 42

interface Source {
  t: number
  seq: number
  it: Iterator<SimRecord>
  head: SimRecord
  server: ServerState
  /** Distinguishes the session keys of the streams of one server. */
  stream: number
}

interface ServerState {
  profile: ServerProfile
  pidRng: Rng
  nextPid: number
  /** stream*2^32 + session key -> process */
  procs: Map<number, { pid: number; line: number; start: number }>
}

export interface Plan {
  servers: string[]
  profiles: ServerProfile[]
  incidents: InjectedIncident[]
  seed: number
}

export function plan(opts: GenerateOptions): Plan {
  if (!(opts.durationMs > 0)) throw new Error('generate: durationMs must be > 0')
  if (!(opts.ratePerSec >= 0)) throw new Error('generate: ratePerSec must be >= 0')
  const servers = serverNames(opts.servers)
  if (servers.length === 0) throw new Error('generate: no servers')
  const profiles = servers.map((s, i) => profileFor(s, i))
  const incidents =
    opts.incidents === 'default'
      ? defaultIncidents(servers, opts.start, opts.durationMs)
      : (opts.incidents ?? []).filter((i) => servers.includes(i.server))
  for (const inc of incidents) {
    if (!(inc.perMinute > 0)) throw new Error(`generate: incident on ${inc.server}: perMinute must be > 0`)
  }
  return { servers, profiles, incidents, seed: opts.seed ?? DEFAULT_SEED }
}

/** Every stream of one server; each has its own PRNG so any subset yields the same records. */
function streamsOf(p: ServerProfile, pl: Plan, opts: GenerateOptions): Array<Iterator<SimRecord>> {
  const end = opts.start + opts.durationMs
  const seed = (name: string) => new Rng(streamSeed(pl.seed, `${p.name}/${name}`))
  const mine = pl.incidents.filter((i) => i.server === p.name)
  // no normal logins while the server restarts
  const quiet: Array<[number, number]> = mine
    .filter((i) => i.category === 'transient' && i.reason !== 'admin_termination')
    .map((i) => [i.start, i.start + i.durationMs])
  const out: Array<Iterator<SimRecord>> = []
  if (opts.ratePerSec > 0) out.push(normalTraffic(p, seed('normal'), opts.start, end, opts.ratePerSec, quiet))
  out.push(background(p, seed('background'), opts.start, end))
  mine.forEach((inc, k) => {
    out.push(incidentAttempts(inc, p, seed(`incident-${k}`)))
    if (inc.pool) out.push(poolSessions(inc, p, seed(`pool-${k}`)))
  })
  return out
}

function emptyTruth(pl: Plan): GroundTruth {
  const failures: GroundTruth['failures'] = {}
  const reasons: GroundTruth['reasons'] = {}
  for (const s of pl.servers) {
    failures[s] = {}
    reasons[s] = {}
  }
  return { servers: pl.servers, failures, reasons, windows: [], incidents: pl.incidents }
}

/** Counts failed attempts as they are emitted. */
class TruthCounter {
  readonly truth: GroundTruth
  private readonly windows = new Map<
    string,
    { server: string; category: Category; windowStart: number; failures: number }
  >()

  constructor(pl: Plan) {
    this.truth = emptyTruth(pl)
  }

  count(server: string, r: SimRecord): void {
    const cat = r.cat!
    const f = this.truth.failures[server]
    f[cat] = (f[cat] ?? 0) + 1
    const rs = this.truth.reasons[server]
    rs[r.reason!] = (rs[r.reason!] ?? 0) + 1
    const ws = Math.floor(r.t / WINDOW_MS) * WINDOW_MS
    const key = `${server}\u0000${cat}\u0000${ws}`
    const w = this.windows.get(key)
    if (w) w.failures++
    else this.windows.set(key, { server, category: cat, windowStart: ws, failures: 1 })
  }

  finish(): GroundTruth {
    this.truth.windows = [...this.windows.values()].sort(
      (a, b) =>
        a.server.localeCompare(b.server) || a.category.localeCompare(b.category) || a.windowStart - b.windowStart,
    )
    return this.truth
  }
}

/**
 * The whole generation: merges the streams of all servers in time order, assigns pids and
 * session line numbers, renders, and counts. Yields each rendered record (its lines joined by
 * '\n'); `done(truth)` is called once with the truth counted from what was yielded.
 */
export function* renderedRecords(opts: GenerateOptions, done?: (truth: GroundTruth) => void): Generator<string> {
  const pl = plan(opts)
  const render: Renderer = rendererFor(opts.format, opts.prefix)
  const counter = new TruthCounter(pl)
  const totals = { lines: 0, records: 0, received: 0, authorized: 0, closed: 0 }
  const heap = new MinHeap<Source>()
  let seq = 0
  for (const p of pl.profiles) {
    const pidRng = new Rng(streamSeed(pl.seed, `${p.name}/pids`))
    const server: ServerState = { profile: p, pidRng, nextPid: pidRng.int(1000, 30000), procs: new Map() }
    streamsOf(p, pl, opts).forEach((it, stream) => {
      const first = it.next()
      if (!first.done) heap.push({ t: first.value.t, seq: seq++, it, head: first.value, server, stream })
    })
  }
  const ctx = { r: undefined as unknown as SimRecord, pid: 0, line: 0, sessionStart: 0, hostname: '' }
  for (;;) {
    const src = heap.pop()
    if (!src) break
    const r = src.head
    const s = src.server
    const key = src.stream * 4294967296 + r.sess
    let proc = s.procs.get(key)
    if (!proc) {
      s.nextPid += s.pidRng.int(1, 4)
      if (s.nextPid > 4_000_000) s.nextPid = 300
      proc = { pid: s.nextPid, line: 0, start: r.t }
      s.procs.set(key, proc)
    }
    proc.line++
    if (r.last) s.procs.delete(key)
    ctx.r = r
    ctx.pid = proc.pid
    ctx.line = proc.line
    ctx.sessionStart = proc.start
    ctx.hostname = s.profile.hostname
    const text = render(ctx)
    totals.records++
    totals.lines += countLines(text)
    if (r.kind === Kind.Failure) counter.count(s.profile.name, r)
    else if (r.kind === Kind.Received) totals.received++
    else if (r.kind === Kind.Authorized) totals.authorized++
    else if (r.kind === Kind.Closed) totals.closed++
    yield text
    const next = src.it.next()
    if (!next.done) {
      src.head = next.value
      src.t = next.value.t
      heap.push(src)
    }
  }
  const truth = counter.finish()
  truth.totals = totals
  done?.(truth)
}

function countLines(text: string): number {
  let n = 1
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++
  return n
}

/**
 * Truth without rendering the log: incident streams are independent of normal traffic (own PRNG),
 * so running only them yields exactly the failed attempts the full generation emits.
 */
export function incidentTruth(opts: GenerateOptions): GroundTruth {
  const pl = plan(opts)
  const counter = new TruthCounter(pl)
  for (const p of pl.profiles) {
    pl.incidents
      .filter((i) => i.server === p.name)
      .forEach((inc, k) => {
        for (const r of incidentAttempts(inc, p, new Rng(streamSeed(pl.seed, `${p.name}/incident-${k}`)))) {
          if (r.kind === Kind.Failure) counter.count(p.name, r)
        }
      })
  }
  return counter.finish()
}

/** Lines (multi-line records as several lines), in time order. Several servers are interleaved. */
export function* generateLines(opts: GenerateOptions): Generator<string> {
  for (const text of renderedRecords(opts)) {
    if (text.includes('\n')) yield* text.split('\n')
    else yield text
  }
}

export interface Sample {
  /** Iterating again regenerates the same lines. */
  lines: Iterable<string>
  truth: GroundTruth
}

export function generateSample(opts: GenerateOptions): Sample {
  return { lines: { [Symbol.iterator]: () => generateLines(opts) }, truth: incidentTruth(opts) }
}
