import { type PipelineConfig, toMs } from '@connrca/contracts'

export interface WindowOptions {
  /** Window size in ms (default config: 5 min). */
  windowMs: number
  /** Hop for hopping windows; absent or equal to windowMs means tumbling. Must divide windowMs. */
  hopMs?: number
  /** Event-time watermark lag behind the highest event time (default config: 2 min). */
  allowedLatenessMs: number
  /** Processing-time silence of a server after which its watermark advances with the wall clock. */
  idleTimeoutMs: number
  /** Entries kept in each top-N list (clients, users, databases). Default 5. */
  topN?: number
  /** Distinct sample messages kept per category and window. Default 3. */
  sampleMessages?: number
}

export interface ResolvedWindowOptions {
  windowMs: number
  hopMs: number
  allowedLatenessMs: number
  idleTimeoutMs: number
  topN: number
  sampleMessages: number
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`windowing: ${name} must be a positive integer of ms, got ${v}`)
  return v
}

export function resolveWindowOptions(o: WindowOptions): ResolvedWindowOptions {
  const windowMs = positiveInt('windowMs', o.windowMs)
  const hopMs = positiveInt('hopMs', o.hopMs ?? windowMs)
  // Divisibility keeps every tumbling window among the hopping ones, which is what incidents consume.
  if (hopMs > windowMs || windowMs % hopMs !== 0) {
    throw new Error(`windowing: hop (${hopMs} ms) must divide the window size (${windowMs} ms)`)
  }
  if (!Number.isInteger(o.allowedLatenessMs) || o.allowedLatenessMs < 0) {
    throw new Error(`windowing: allowedLatenessMs must be an integer >= 0, got ${o.allowedLatenessMs}`)
  }
  return {
    windowMs,
    hopMs,
    allowedLatenessMs: o.allowedLatenessMs,
    idleTimeoutMs: positiveInt('idleTimeoutMs', o.idleTimeoutMs),
    topN: positiveInt('topN', o.topN ?? 5),
    sampleMessages: o.sampleMessages ?? 3,
  }
}

/** WindowOptions from the `pipeline` config section. */
export function windowOptionsFromConfig(p: PipelineConfig): WindowOptions {
  return {
    windowMs: toMs(p.window),
    hopMs: p.hop === undefined ? undefined : toMs(p.hop),
    allowedLatenessMs: toMs(p.allowedLateness),
    idleTimeoutMs: toMs(p.idleTimeout),
  }
}
