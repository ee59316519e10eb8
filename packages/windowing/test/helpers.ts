import type { Category, ConnectionEvent, WindowCount } from '@connrca/contracts'

export const MIN = 60_000
/** 2026-03-02 10:00 UTC */
export const T0 = Date.UTC(2026, 2, 2, 10, 0)

let seq = 0
export function failed(server: string, time: number, category: Category, extra: Partial<ConnectionEvent> = {}) {
  return {
    id: `e${seq++}`,
    server,
    time,
    outcome: 'failed',
    category,
    reason: `${category}_reason`,
    message: `${category} failure`,
    ...extra,
  } satisfies ConnectionEvent as ConnectionEvent
}

export function received(server: string, time: number, extra: Partial<ConnectionEvent> = {}): ConnectionEvent {
  return { id: `e${seq++}`, server, time, outcome: 'received', message: 'connection received', ...extra }
}

export function other(server: string, time: number, outcome: 'authorized' | 'closed'): ConnectionEvent {
  return { id: `e${seq++}`, server, time, outcome, message: outcome }
}

export function collector() {
  const out: WindowCount[] = []
  return { out, emit: (w: WindowCount) => out.push(w) }
}

export const opts = { windowMs: 5 * MIN, allowedLatenessMs: 2 * MIN, idleTimeoutMs: 30_000 }
