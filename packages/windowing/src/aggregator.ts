import type { ConnectionEvent, WindowCount, WindowTallies } from '@connrca/contracts'
import { type ResolvedWindowOptions, resolveWindowOptions, type WindowOptions } from './options.js'
import { fromSnapshot, type KeyState, newKey, toSnapshot } from './snapshot.js'
import { applyEvent, emitDirty, hasDirty, newWindow, type WindowState } from './window-state.js'

const NEG = Number.NEGATIVE_INFINITY
const POS = Number.POSITIVE_INFINITY

function floorTo(t: number, step: number): number {
  return Math.floor(t / step) * step
}

/**
 * Keyed (by server) event-time windows. See README for the semantics; in short:
 * watermark(server) = max(highest event time − allowed lateness, idle advance), a window fires
 * when the watermark passes its end, a fired window stays updatable (late revisions) until the
 * event-time part of the watermark passes its end, and events for windows past that are dropped.
 */
export class WindowAggregator {
  private readonly o: ResolvedWindowOptions
  private readonly keys = new Map<string, KeyState>()
  private _lateDropped = 0
  /** Latest processing time seen (add with nowMs, or tick). */
  private clock: number | undefined

  constructor(
    opts: WindowOptions,
    private readonly emit: (w: WindowCount, all: WindowTallies) => void,
  ) {
    this.o = resolveWindowOptions(opts)
  }

  /** Low watermark over all servers (it can step back when a new server shows up with older events). */
  get watermark(): number {
    let min = POS
    for (const k of this.keys.values()) if (k.wm < min) min = k.wm
    return min === POS ? NEG : min
  }

  /** Watermark of each server: incidents resolve per server with these. */
  watermarks(): Map<string, number> {
    const out = new Map<string, number>()
    for (const k of this.keys.values()) out.set(k.server, k.wm)
    return out
  }

  watermarkOf(server: string): number {
    return this.keys.get(server)?.wm ?? NEG
  }

  /** Events (received or failed) that missed at least one of their windows because it was already purged. */
  get lateDropped(): number {
    return this._lateDropped
  }

  /** Windows currently held (open or fired-but-still-updatable), over all servers. */
  get openWindows(): number {
    let n = 0
    for (const k of this.keys.values()) n += k.windows.size
    return n
  }

  add(e: ConnectionEvent, nowMs?: number): void {
    const t = e.time
    if (!Number.isFinite(t)) return
    let k = this.keys.get(e.server)
    if (k === undefined) {
      k = newKey(e.server)
      this.keys.set(e.server, k)
    }
    if (nowMs !== undefined && (this.clock === undefined || nowMs > this.clock)) this.clock = nowMs
    k.lastActivity = nowMs ?? this.clock
    if (t > k.maxTime) k.maxTime = t

    // Authorized/closed (and uncategorised failures) only move time forward.
    if (e.outcome === 'received' || (e.outcome === 'failed' && e.category !== undefined)) this.place(k, e)
    this.advance(k, k.maxTime - this.o.allowedLatenessMs)
  }

  /**
   * Whether every window `e` falls into is already purged, so add() counts it as late and drops
   * it. Stages that keep more than windows (the diagnosis evidence) use this to keep exactly the
   * events the counts hold, whatever the arrival order or redelivery.
   */
  isLate(e: ConnectionEvent): boolean {
    const k = this.keys.get(e.server)
    if (k === undefined || !Number.isFinite(e.time)) return false
    return floorTo(e.time, this.o.hopMs) + this.o.windowMs <= k.maxTime - this.o.allowedLatenessMs
  }

  tick(nowMs: number): void {
    if (this.clock === undefined || nowMs > this.clock) this.clock = nowMs
    for (const k of this.keys.values()) {
      // Events added without a processing time start the idle clock at the first tick that sees them.
      if (k.lastActivity === undefined) k.lastActivity = nowMs
      const silent = nowMs - k.lastActivity
      if (silent >= this.o.idleTimeoutMs && k.maxTime > NEG) {
        // Idle: let event time run on with the wall clock from the last event seen.
        this.advance(k, k.maxTime + silent)
      }
      this.emitLate(k)
    }
  }

  flushAll(): void {
    for (const k of this.keys.values()) {
      if (k.maxTime === NEG) continue
      // Close every window that holds data: the watermark moves to the end of the newest one.
      this.advance(k, floorTo(k.maxTime, this.o.hopMs) + this.o.windowMs)
      this.emitLate(k)
    }
  }

  snapshot(): unknown {
    return toSnapshot(this.keys.values(), this._lateDropped, this.clock)
  }

  static restore(opts: WindowOptions, emit: (w: WindowCount, all: WindowTallies) => void, state: unknown): WindowAggregator {
    const agg = new WindowAggregator(opts, emit)
    const s = fromSnapshot(state)
    agg._lateDropped = s.lateDropped
    agg.clock = s.clock
    for (const k of s.keys) agg.keys.set(k.server, k)
    return agg
  }

  private place(k: KeyState, e: ConnectionEvent): void {
    const { windowMs, hopMs } = this.o
    const t = e.time
    const purgedUpTo = k.maxTime - this.o.allowedLatenessMs
    let dropped = false
    for (let start = floorTo(t, hopMs); start > t - windowMs; start -= hopMs) {
      const end = start + windowMs
      if (end <= purgedUpTo) {
        dropped = true
        continue
      }
      let w = k.windows.get(start)
      if (w === undefined) {
        w = newWindow(start, end, end <= k.wm)
        k.windows.set(start, w)
        if (!w.fired && end < k.nextFire) k.nextFire = end
        if (w.fired && end < k.nextPurge) k.nextPurge = end
      }
      applyEvent(w, e, this.o.sampleMessages)
    }
    if (dropped) this._lateDropped++
  }

  /** Raises the server's watermark to `candidate` (never lowers it); fires and purges windows. */
  private advance(k: KeyState, candidate: number): void {
    if (candidate > k.wm) k.wm = candidate
    const purgeBefore = k.maxTime - this.o.allowedLatenessMs
    // The common case (no window closes, nothing to purge) costs two comparisons.
    if (k.wm < k.nextFire && purgeBefore < k.nextPurge) return
    // Late revisions of older windows go out before windows that close now, keeping per-server time order.
    this.emitLate(k)
    const closing: WindowState[] = []
    for (const w of k.windows.values()) if (!w.fired && w.end <= k.wm) closing.push(w)
    closing.sort((a, b) => a.start - b.start)
    for (const w of closing) {
      w.fired = true
      emitDirty(k.server, w, this.o.topN, this.emit)
    }
    let nextFire = POS
    let nextPurge = POS
    for (const [start, w] of k.windows) {
      if (!w.fired) nextFire = Math.min(nextFire, w.end)
      else if (w.end <= purgeBefore) k.windows.delete(start)
      else nextPurge = Math.min(nextPurge, w.end)
    }
    k.nextFire = nextFire
    k.nextPurge = nextPurge
  }

  /** Re-emits fired windows that late events changed (coalesced: one revision per window per call). */
  private emitLate(k: KeyState): void {
    let late: WindowState[] | undefined
    for (const w of k.windows.values()) if (w.fired && hasDirty(w)) (late ??= []).push(w)
    if (late === undefined) return
    late.sort((a, b) => a.start - b.start)
    for (const w of late) emitDirty(k.server, w, this.o.topN, this.emit)
  }
}
